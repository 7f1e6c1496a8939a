"""Replicate's predictions API: `GET {api_base_url}/v1/predictions/{id}` with a Bearer token."""

from __future__ import annotations

from urllib.parse import quote

from receiver.clients.http import api_client, get_json
from receiver.sources import SourceConfig


class PredictionsClient:
    def __init__(self, source: SourceConfig) -> None:
        self._source = source.id
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        return await get_json(
            self._http,
            f"/v1/predictions/{quote(task_id, safe='')}",
            f"GET prediction {task_id} ({self._source})",
        )

    async def aclose(self) -> None:
        await self._http.aclose()
