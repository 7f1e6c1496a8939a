"""OpenAI's Videos API and the relays that copy it: `GET {api_base_url}/v1/videos/{id}` with a Bearer key.

One client serves OpenAI and the relays: the request is the same, and the differences of the relays'
answers are the schemas' business (schemas/openai_compatible/).
"""

from __future__ import annotations

from urllib.parse import quote

from receiver.clients.http import api_client, get_json
from receiver.sources import SourceConfig


class VideosClient:
    def __init__(self, source: SourceConfig) -> None:
        self._source = source.id
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        return await get_json(
            self._http, f"/v1/videos/{quote(task_id, safe='')}", f"GET video {task_id} ({self._source})"
        )

    async def aclose(self) -> None:
        await self._http.aclose()
