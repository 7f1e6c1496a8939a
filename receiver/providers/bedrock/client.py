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
        self._base = source.api_base_url or ""
        self._aws = None if source.api_key is not None else AwsCredentials(source)
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        path = invocation_path(task_id)
        what = f"GET Bedrock async invocation {task_id} ({self._source})"
        headers = await self._aws.signed_headers("GET", self._base + path) if self._aws else {}
        return await get_json(self._http, path, what, headers)

    async def aclose(self) -> None:
        await self._http.aclose()
