"""Amazon Bedrock async invoke: poll only; the invocation (`GET /async-invoke/{arn}`) is the payload."""

from schemas.bedrock import v1
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name=v1.PROVIDER_ID,
    versions=(),
    resource_versions=(SchemaVersion(1, v1.AsyncInvoke, v1.normalize),),
    task_types=("generation",),
)
