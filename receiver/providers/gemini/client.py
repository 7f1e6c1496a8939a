"""The Gemini API's task objects: `GET {api_base_url}/v1beta/{name}` with `x-goog-api-key`.

A task id with a slash is a resource name (`models/<model>/operations/<id>`, or `operations/<id>`
for a webhook that gave only the last segment) and is asked for as it is; any other id is an Omni
interaction's, at `/v1beta/interactions/{id}`.
"""

from __future__ import annotations

from urllib.parse import quote

from receiver.clients.http import api_client, get_json
from receiver.sources import SourceConfig

API_VERSION = "/v1beta"


def task_path(task_id: str) -> str:
    if "/" in task_id:
        return f"{API_VERSION}/" + "/".join(quote(part, safe="") for part in task_id.split("/"))
    return f"{API_VERSION}/interactions/{quote(task_id, safe='')}"


class GeminiClient:
    def __init__(self, source: SourceConfig) -> None:
        self._source = source.id
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        return await get_json(self._http, task_path(task_id), f"GET {task_id} ({self._source})")

    async def aclose(self) -> None:
        await self._http.aclose()
