"""Every provider the receiver knows, by the id `provider` takes in the config.

Adding a provider is one package here (receiver/providers/<name>/), one under schemas/, a fixtures
folder, a README section, and one line below; the completeness test (tests/providers/test_providers.py) says
what is missing.
"""

from __future__ import annotations

from receiver.providers import (
    ark,
    bailian,
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
    replicate,
    runway,
    twelvelabs,
)
from receiver.providers.base import AnyProvider, Provider

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
    )
}

__all__ = ["PROVIDERS", "AnyProvider", "Provider"]
