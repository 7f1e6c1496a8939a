"""Relays exposing OpenAI's `/v1/videos` for Veo 3.1: poll only, the video object in OpenAI's shape."""

from schemas.openai_compatible import v1
from schemas.provider import ProviderSchemas, SchemaVersion

PROVIDER = ProviderSchemas(
    name="openai-compatible",
    # Nothing is pushed, so nothing is verified; the relay is called with a Bearer key instead.
    default_verify="none",
    accepts_callbacks=False,
    versions=(),
    resource_versions=(SchemaVersion(1, v1.RelayVideo, v1.normalize),),
    task_type="generation",
)
