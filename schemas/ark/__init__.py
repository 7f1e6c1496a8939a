"""Seedance on Volcengine Ark / BytePlus ModelArk: one task object for the callback and the query answer."""

from schemas.ark import v1
from schemas.provider import ProviderSchemas, SchemaVersion

_TASK = SchemaVersion(1, v1.Task, v1.normalize)

SCHEMAS = ProviderSchemas(
    name="ark", versions=(_TASK,), resource_versions=(_TASK,), task_types=("generation",)
)
