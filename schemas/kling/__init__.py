"""Kling: the task object as its callback, and inside the API's `{code, message, request_id, data}` answer."""

from schemas.kling import v1
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name="kling",
    versions=(SchemaVersion(1, v1.Task, v1.normalize),),
    resource_versions=(SchemaVersion(1, v1.TaskResponse, v1.normalize_response),),
    task_types=("generation",),
)
