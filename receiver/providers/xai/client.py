"""xAI's video status: `GET {api_base_url}/v1/videos/{request_id}` with a Bearer key.

The HTTP status is part of the answer: 202 while the video is being made (its body `{"status":
"pending", ...}` or, as the API answered until mid-2026, empty), 200 once it is done, failed or
expired; anything else is a request error. The answer does not name the request: the document handed
on (schemas/xai/v1.py) is the answer with the `request_id` it was asked for, and an empty 202 becomes
`{"status": "pending"}`.
"""

from __future__ import annotations

from urllib.parse import quote

import orjson

from receiver.clients.http import api_client, json_object, remote_status_error
from receiver.sources import SourceConfig

IN_PROGRESS = 202


class XaiClient:
    def __init__(self, source: SourceConfig) -> None:
        self._source = source.id
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        what = f"GET xAI video {task_id} ({self._source})"
        response = await self._http.get(f"/v1/videos/{quote(task_id, safe='')}", extensions={"what": what})
        if response.status_code not in (200, IN_PROGRESS):
            raise remote_status_error(response, what)
        empty = response.status_code == IN_PROGRESS and not response.content.strip()
        answer = {} if empty else json_object(response.content, what)
        if response.status_code == IN_PROGRESS:
            answer.setdefault("status", "pending")
        return orjson.dumps({**answer, "request_id": task_id})

    async def aclose(self) -> None:
        await self._http.aclose()
