"""Every provider the receiver knows, by the id `provider` takes in the config.

Adding a provider is one package here (receiver/providers/<name>/), one under schemas/, a fixtures
folder, a README section, and one line below; the completeness test (tests/test_providers.py) says
what is missing.
"""

from __future__ import annotations

from receiver.providers import ark, bailian, kling, luma, memories, openai, openai_compatible, twelvelabs
from receiver.providers.base import AnyProvider, Provider

PROVIDERS: dict[str, AnyProvider] = {
    provider.id: provider
    for provider in (
        memories.PROVIDER,
        twelvelabs.PROVIDER,
        openai.PROVIDER,
        openai_compatible.PROVIDER,
        bailian.PROVIDER,
        luma.PROVIDER,
        kling.PROVIDER,
        ark.PROVIDER,
    )
}

__all__ = ["PROVIDERS", "AnyProvider", "Provider"]
