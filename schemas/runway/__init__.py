"""Runway API tasks: poll only; the polled task object (`GET /v1/tasks/{id}`) is the payload."""

from schemas.provider import ProviderSchemas, SchemaVersion
from schemas.runway import v1

SCHEMAS = ProviderSchemas(
    name=v1.PROVIDER_ID,
    versions=(),
    resource_versions=(SchemaVersion(1, v1.Task, v1.normalize),),
    task_types=("generation",),
)
