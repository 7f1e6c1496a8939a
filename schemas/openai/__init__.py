"""OpenAI Videos API: thin `video.*` webhooks (Standard Webhooks), the video object fetched after them."""

from schemas.openai import v1
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name="openai",
    versions=(SchemaVersion(1, v1.Webhook, v1.normalize),),
    resource_versions=(SchemaVersion(1, v1.Video, v1.normalize_video),),
    task_types=("generation",),
)
