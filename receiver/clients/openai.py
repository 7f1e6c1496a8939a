"""OpenAI's Videos API and the relays that copy it: `GET {api_base_url}/v1/videos/{id}` with a Bearer key.

One client serves `openai` and `openai-compatible`: the request is the same, and the differences of
the relays' answers are the schemas' business (schemas/openai_compatible/).
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from receiver.clients.http import get_json
from receiver.config import SourceConfig


class VideosClient:
    def __init__(self, source: SourceConfig) -> None:
        if source.api_base_url is None or source.api_key is None:
            raise ValueError(f"source {source.id!r} needs api_base_url and api_key to call the videos API")
        self._source = source.id
        self._http = httpx.AsyncClient(
            base_url=source.api_base_url,
            headers={"authorization": f"Bearer {source.api_key.get_secret_value()}"},
            timeout=httpx.Timeout(source.api_timeout_seconds),
            follow_redirects=False,
        )

    async def get_task(self, task_id: str) -> bytes:
        return await get_json(
            self._http, f"/v1/videos/{quote(task_id, safe='')}", f"GET video {task_id} ({self._source})"
        )

    async def aclose(self) -> None:
        await self._http.aclose()
