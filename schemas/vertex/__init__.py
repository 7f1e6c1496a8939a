"""Veo on Vertex AI: poll only; the long-running operation (`fetchPredictOperation`) is the payload."""

from schemas.provider import ProviderSchemas, SchemaVersion
from schemas.vertex import v1

SCHEMAS = ProviderSchemas(
    name=v1.PROVIDER_ID,
    versions=(),
    resource_versions=(SchemaVersion(1, v1.Operation, v1.normalize),),
    task_types=("generation",),
)
