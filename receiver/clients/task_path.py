"""The commonest task API: `GET {api_base_url}/<path>/{task_id}` with the source's credentials, JSON back.

Providers whose task object is one plain GET away (Luma's generations, Ark's content generation tasks)
declare their client as this one with their path; what the answer means is their schemas' business.
"""

from __future__ import annotations

from urllib.parse import quote

from receiver.clients.http import api_client, get_json
from receiver.sources import SourceConfig


class TaskPathClient:
    def __init__(self, source: SourceConfig, path: str, what: str) -> None:
        """`path` is the task's path below `api_base_url`, with `{task_id}` where the id goes; `what`
        names the resource in error messages."""
        self._path = path
        self._what = f"{what} ({source.id})"
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        url = self._path.format(task_id=quote(task_id, safe=""))
        return await get_json(self._http, url, f"GET {self._what} {task_id}")

    async def aclose(self) -> None:
        await self._http.aclose()
