"""Luma Dream Machine: the Generation object, posted on every change and returned by the API alike."""

from schemas.luma import v1
from schemas.provider import ProviderSchemas, SchemaVersion

_GENERATION = SchemaVersion(1, v1.Generation, v1.normalize)

SCHEMAS = ProviderSchemas(
    name="luma",
    versions=(_GENERATION,),
    resource_versions=(_GENERATION,),
    task_types=("generation",),
)
