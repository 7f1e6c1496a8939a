"""TwelveLabs API client: the analyze task a thin `analyze.task.*` webhook points at.

`GET {api_base_url}/v1.3/analyze/tasks/{id}` with the source's `api_key` in `x-api-key`. Index
webhooks are not fetched: their task lives elsewhere (`/v1.3/tasks/{id}`) and carries no result.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from receiver.clients.base import RemoteError
from receiver.clients.http import get_json
from receiver.config import SourceConfig

DEFAULT_API_BASE_URL = "https://api.twelvelabs.io"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class TwelveLabsClient:
    def __init__(self, source: SourceConfig, timeout: httpx.Timeout = TIMEOUT) -> None:
        if source.api_key is None:
            raise RemoteError(
                f"source {source.id!r} has no api_key to fetch TwelveLabs tasks", retryable=False
            )
        self._http = httpx.AsyncClient(
            base_url=source.api_base_url or DEFAULT_API_BASE_URL,
            headers={"x-api-key": source.api_key.get_secret_value(), "accept": "application/json"},
            timeout=timeout,
        )

    async def get_task(self, task_id: str) -> bytes:
        path = f"/v1.3/analyze/tasks/{quote(task_id, safe='')}"
        return await get_json(self._http, path, f"TwelveLabs analyze task {task_id}")

    async def aclose(self) -> None:
        await self._http.aclose()
