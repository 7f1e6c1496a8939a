"""memories.ai MAVI API v2: async video description callbacks (fat: the whole result inline)."""

from schemas.memories import v1
from schemas.provider import ProviderSchemas, SchemaVersion

PROVIDER = ProviderSchemas(
    name="memories",
    # memories.ai documents no signature: a high-entropy token in the registered URL is the proof.
    default_verify="url-token",
    accepts_callbacks=True,
    versions=(SchemaVersion(1, v1.Callback, v1.normalize),),
)
