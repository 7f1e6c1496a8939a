"""Every provider the receiver knows, by the id `provider` takes in the config.

Adding a provider is one package here (receiver/providers/<name>/), one under schemas/, a fixtures
folder, a README section, and one line below; the completeness test (tests/providers/test_providers.py) says
what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping

from receiver.providers import (
    ark,
    bailian,
    bedrock,
    dashscope,
    fal,
    gemini,
    kling,
    luma,
    memories,
    minimax,
    openai,
    openai_compatible,
    openrouter,
    pixverse,
    replicate,
    runway,
    twelvelabs,
    vertex,
    vidu,
    xai,
)
from receiver.providers.base import AnyProvider, Provider
from receiver.sources import SourceConfig
from receiver.verifiers import SIGNATURE_SCHEMES, Verifier
from receiver.verifiers.unproven_forms import UnprovenForms
from schemas.provider import ProviderSchemas

PROVIDERS: dict[str, AnyProvider] = {
    provider.id: provider
    for provider in (
        memories.PROVIDER,
        twelvelabs.PROVIDER,
        openai.PROVIDER,
        openai_compatible.PROVIDER,
        bailian.PROVIDER,
        gemini.PROVIDER,
        replicate.PROVIDER,
        fal.PROVIDER,
        openrouter.PROVIDER,
        luma.PROVIDER,
        kling.PROVIDER,
        minimax.PROVIDER,
        ark.PROVIDER,
        runway.PROVIDER,
        dashscope.PROVIDER,
        # Third wave, signed pushes: PixVerse (body signed), Vidu (request line signed; notifications).
        pixverse.PROVIDER,
        vidu.PROVIDER,
        # Poll-only clouds (third wave).
        xai.PROVIDER,
        vertex.PROVIDER,
        bedrock.PROVIDER,
    )
}

# Every provider's schema versions, by provider id: what a pipeline decodes with unless given others.
PROVIDER_SCHEMAS: Mapping[str, ProviderSchemas] = {
    name: provider.schemas for name, provider in PROVIDERS.items()
}

__all__ = ["PROVIDERS", "PROVIDER_SCHEMAS", "AnyProvider", "Provider", "verifier_for"]


def verifier_for(source: SourceConfig) -> Verifier:
    """The source's scheme, preceded by its provider's screen for signature forms it cannot check."""
    verifier = SIGNATURE_SCHEMES[source.verify].build(source)
    unverifiable = PROVIDERS[source.provider].unverifiable_signature
    return verifier if unverifiable is None else UnprovenForms(verifier, unverifiable)
