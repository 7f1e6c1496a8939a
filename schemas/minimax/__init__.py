"""MiniMax Hailuo video generation: thin callbacks (the task's status and `file_id`), the task fetched."""

from schemas.minimax import v1
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name=v1.PROVIDER_ID,
    # The callback "matches the query API's structure": one model reads both, and the client's merged
    # document (the task plus its resolved file) too.
    versions=(SchemaVersion(1, v1.Task, v1.normalize),),
    resource_versions=(SchemaVersion(1, v1.Task, v1.normalize),),
    task_types=("generation",),
)
