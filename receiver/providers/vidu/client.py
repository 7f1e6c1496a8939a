"""Vidu's task API: `GET {api_base_url}/ent/v2/tasks/{id}/creations` (`Authorization: Token <key>`).

The answer names no task id and no time, and its result URLs expire a fixed time after they are
handed out: the client adds the `id` it asked for and `fetched_at` (unix seconds) to the document, so
that the normalizer stays pure. An answer that names another task than the one asked is refused.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import orjson

from receiver.clients.http import api_client, get_json_object
from receiver.foundation.errors import RemoteError
from receiver.sources import SourceConfig


class ViduClient:
    def __init__(self, source: SourceConfig) -> None:
        self._source = source.id
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        what = f"GET Vidu task {task_id} ({self._source})"
        fetched_at = time.time()
        task = await get_json_object(self._http, f"/ent/v2/tasks/{quote(task_id, safe='')}/creations", what)
        named = task.get("id")
        if named not in (None, "") and str(named) != task_id:
            raise RemoteError(f"{what}: the answer is for task {named}", retryable=False)
        task["id"] = task_id
        task["fetched_at"] = fetched_at
        return orjson.dumps(task)

    async def aclose(self) -> None:
        await self._http.aclose()
