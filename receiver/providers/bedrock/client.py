"""Bedrock's `GetAsyncInvoke`: `GET {api_base_url}/async-invoke/{invocation ARN}`, signed.

The ARN is one path segment, percent-encoded as botocore's serializer does (`:` and `/` escaped, only
`-_.~` kept); the request is SigV4-signed (service `bedrock`) by the source's `AwsCredentials`, or
carries a Bedrock API key as Bearer (`api_key`). Errors answer `{"message": ...}` with the HTTP
status that says whether to retry (400, 403 final; 429, 5xx retryable).
"""

from __future__ import annotations

from urllib.parse import quote

from receiver.clients.http import api_client, get_json
from receiver.providers.bedrock.credentials import AwsCredentials
from receiver.providers.bedrock.settings import BedrockSource


def invocation_path(arn: str) -> str:
    return "/async-invoke/" + quote(arn, safe="-_.~")


class BedrockClient:
    def __init__(self, source: BedrockSource) -> None:
        self._source = source.id
        signer = None if source.api_key is not None else AwsCredentials(source).signed_headers
        self._http = api_client(source, per_request=signer)

    async def get_task(self, task_id: str) -> bytes:
        what = f"GET Bedrock async invocation {task_id} ({self._source})"
        return await get_json(self._http, invocation_path(task_id), what)

    async def aclose(self) -> None:
        await self._http.aclose()
