"""Alibaba Model Studio (DashScope) async tasks, Wan video synthesis: poll only, `GET /api/v1/tasks/{id}`."""

from schemas.dashscope import v1
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name=v1.PROVIDER_ID,
    versions=(),
    resource_versions=(SchemaVersion(1, v1.TaskResponse, v1.normalize),),
    task_types=("generation",),
)
