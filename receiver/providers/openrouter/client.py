"""OpenRouter's video jobs: `GET {api_base_url}/api/v1/videos/{id}` with a Bearer key."""

from __future__ import annotations

from urllib.parse import quote

from receiver.clients.http import api_client, get_json
from receiver.sources import SourceConfig


class VideoJobsClient:
    def __init__(self, source: SourceConfig) -> None:
        self._source = source.id
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        what = f"GET video job {task_id} ({self._source})"
        return await get_json(self._http, f"/api/v1/videos/{quote(task_id, safe='')}", what)

    async def aclose(self) -> None:
        await self._http.aclose()
