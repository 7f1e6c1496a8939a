"""Every provider the receiver knows, by the id used in the config.

Adding a provider is one folder under `schemas/` and one line here; adding a schema version is one
module in the provider's folder and one line in its `versions`.
"""

from __future__ import annotations

from schemas import bailian, memories, openai, openai_compatible, twelvelabs
from schemas.provider import ProviderSchemas

PROVIDERS: dict[str, ProviderSchemas] = {
    provider.name: provider
    for provider in (
        memories.PROVIDER,
        twelvelabs.PROVIDER,
        openai.PROVIDER,
        openai_compatible.PROVIDER,
        bailian.PROVIDER,
    )
}
