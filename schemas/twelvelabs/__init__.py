"""TwelveLabs: Analyze (Pegasus) and index task webhooks, thin; the analyze task is fetched for the result.

Index webhooks stay thin: the fetched resource is the analyze task only (`GET /v1.3/analyze/tasks/{id}`).
"""

from schemas.provider import ProviderSchemas, SchemaVersion
from schemas.twelvelabs import analyze_task_v1, webhook_v1
from schemas.twelvelabs.common import PROVIDER_ID

SCHEMAS = ProviderSchemas(
    name=PROVIDER_ID,
    versions=(SchemaVersion(1, webhook_v1.Webhook, webhook_v1.normalize),),
    resource_versions=(SchemaVersion(1, analyze_task_v1.AnalyzeTask, analyze_task_v1.normalize),),
)
