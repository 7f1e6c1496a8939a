"""fal Queue API: one signed callback when a request finishes (the model's output inline); status polled."""

from schemas.fal import v1
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name="fal",
    versions=(SchemaVersion(1, v1.Webhook, v1.normalize),),
    resource_versions=(SchemaVersion(1, v1.QueueStatus, v1.normalize_status),),
    task_types=("generation",),
)
