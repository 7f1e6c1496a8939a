"""TwelveLabs: Analyze (Pegasus) and index task webhooks, thin; the task is fetched for the result.

Two kinds of task, each at its own route: analyze tasks (`GET /v1.3/analyze/tasks/{id}`) and video
indexing tasks (`GET /v1.3/tasks/{id}`); either object is a resource of version 1.
"""

from schemas.provider import ProviderSchemas, SchemaVersion
from schemas.twelvelabs import task_v1, webhook_v1
from schemas.twelvelabs.common import PROVIDER_ID

SCHEMAS = ProviderSchemas(
    name=PROVIDER_ID,
    versions=(SchemaVersion(1, webhook_v1.Webhook, webhook_v1.normalize),),
    resource_versions=(SchemaVersion(1, task_v1.Task, task_v1.normalize),),
    task_types=("analysis", "indexing"),
)
