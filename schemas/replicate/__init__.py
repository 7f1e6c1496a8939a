"""Replicate predictions: the webhook body is the whole prediction, as `GET /v1/predictions/{id}` has it."""

from schemas.provider import ProviderSchemas, SchemaVersion
from schemas.replicate import v1

SCHEMAS = ProviderSchemas(
    name="replicate",
    versions=(SchemaVersion(1, v1.Prediction, v1.normalize),),
    resource_versions=(SchemaVersion(1, v1.Prediction, v1.normalize),),
    task_types=("generation",),
)
