"""memories.ai MAVI API v2: async video description callbacks (fat: the whole result inline)."""

from schemas.memories import v1
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name="memories",
    versions=(SchemaVersion(1, v1.Callback, v1.normalize),),
)
