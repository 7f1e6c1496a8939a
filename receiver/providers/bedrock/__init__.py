"""Amazon Bedrock async invoke (Nova Reel, Luma Ray 2): poll only, SigV4-signed, videos written to S3.

Bedrock sends no completion event for async invocations: a watched invocation is polled with
`GetAsyncInvoke` until it is `Completed` or `Failed`. Credentials are AWS's (see `credentials`), or a
Bedrock API key (`api_key`, sent as Bearer). The video's `s3://` URL is copied into the asset store
with the same credentials, from `s3_endpoint` when set, and only from under `output_uri` when set.
"""

from __future__ import annotations

from receiver.providers.base import Provider, imported_on_first_use
from receiver.providers.bedrock.settings import BedrockSource
from schemas.bedrock import SCHEMAS

# botocore is imported when a bedrock source first polls or reads its storage, not by every process
# that loads the registry.
PROVIDER = Provider(
    settings=BedrockSource,
    schemas=SCHEMAS,
    callbacks=None,
    client=imported_on_first_use("receiver.providers.bedrock.client:BedrockClient"),
    storage=imported_on_first_use("receiver.providers.bedrock.storage:S3Storage"),
)

__all__ = ["PROVIDER", "BedrockSource"]
