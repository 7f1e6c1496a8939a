"""Bailian Quanmiao video analysis: poll only; the polled `GetVideoAnalysisTask` response is the payload."""

from schemas.bailian import v1
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name=v1.PROVIDER_ID,
    versions=(),
    resource_versions=(SchemaVersion(1, v1.TaskResponse, v1.normalize),),
    task_types=("analysis",),
)
