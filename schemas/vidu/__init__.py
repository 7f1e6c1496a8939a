"""Vidu (ShengShu) `/ent/v2`: the callback, a notification only, and the task the API answers."""

from schemas.provider import ProviderSchemas, SchemaVersion
from schemas.vidu import v1

SCHEMAS = ProviderSchemas(
    name="vidu",
    versions=(SchemaVersion(1, v1.Notification, v1.normalize_notification),),
    resource_versions=(SchemaVersion(1, v1.Task, v1.normalize_task),),
    task_types=("generation",),
)
