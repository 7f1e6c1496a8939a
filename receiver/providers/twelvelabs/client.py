"""TwelveLabs API client: the analyze task a thin `analyze.task.*` webhook points at.

`GET {api_base_url}/v1.3/analyze/tasks/{id}` with the source's `api_key` in `x-api-key`. Index
webhooks are not fetched: their task lives elsewhere (`/v1.3/tasks/{id}`) and carries no result.
"""

from __future__ import annotations

from urllib.parse import quote

from receiver.clients.http import api_client, get_json
from receiver.sources import SourceConfig


class TwelveLabsClient:
    def __init__(self, source: SourceConfig) -> None:
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        path = f"/v1.3/analyze/tasks/{quote(task_id, safe='')}"
        return await get_json(self._http, path, f"TwelveLabs analyze task {task_id}")

    async def aclose(self) -> None:
        await self._http.aclose()
