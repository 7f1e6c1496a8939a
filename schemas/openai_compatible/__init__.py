"""Relays exposing OpenAI's `/v1/videos` for Veo 3.1: poll only, the video object in OpenAI's shape."""

from schemas.openai_compatible import v1
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name="openai-compatible",
    versions=(),
    resource_versions=(SchemaVersion(1, v1.RelayVideo, v1.normalize),),
    task_types=("generation",),
)
