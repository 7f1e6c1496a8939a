"""PixVerse Platform API: the signed webhook, and the status API's `{ErrCode, ErrMsg, Resp}` answer."""

from schemas.pixverse import v1
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name="pixverse",
    versions=(SchemaVersion(1, v1.Webhook, v1.normalize),),
    resource_versions=(SchemaVersion(1, v1.ResultAnswer, v1.normalize_answer),),
    task_types=("generation",),
)
