"""xAI Grok Imagine video: poll only; the deferred request (`GET /v1/videos/{request_id}`) is the payload."""

from schemas.provider import ProviderSchemas, SchemaVersion
from schemas.xai import v1

SCHEMAS = ProviderSchemas(
    name=v1.PROVIDER_ID,
    versions=(),
    resource_versions=(SchemaVersion(1, v1.VideoRequest, v1.normalize),),
    task_types=("generation",),
)
