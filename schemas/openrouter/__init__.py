"""OpenRouter video jobs: a signed callback per terminal state (a job summary); the job polled."""

from schemas.openrouter import v1
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name="openrouter",
    versions=(SchemaVersion(1, v1.Webhook, v1.normalize),),
    resource_versions=(SchemaVersion(1, v1.VideoJob, v1.normalize_job),),
    task_types=("generation",),
)
