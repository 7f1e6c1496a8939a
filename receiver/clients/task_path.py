"""The commonest task API: `GET {api_base_url}/<path>/{task_id}` with the source's credentials, JSON back.

Providers whose task object is one plain GET away (OpenAI's videos, TwelveLabs' analyze tasks,
Replicate's predictions, OpenRouter's video jobs, Luma's generations, Ark's tasks, Runway's tasks)
declare `client=task_path_client(path, what)`; what the answer means is their schemas' business, and
their credentials their settings' (`api_headers`).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from receiver.clients.http import api_client, get_json
from receiver.sources import SourceConfig


class TaskPathClient:
    def __init__(self, source: SourceConfig, path: str, what: str) -> None:
        """`path` is the task's path below `api_base_url`, with `{task_id}` where the id goes; `what`
        names the resource in error messages."""
        self._path = path
        self._what = what
        self._source = source.id
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        url = self._path.format(task_id=quote(task_id, safe=""))
        return await get_json(self._http, url, f"GET {self._what} {task_id} ({self._source})")

    async def aclose(self) -> None:
        await self._http.aclose()


def task_path_client(path: str, what: str) -> Callable[[SourceConfig], TaskPathClient]:
    """The `client` of a provider whose task is at `path` (with `{task_id}`), named `what` in errors."""

    def client(source: SourceConfig) -> TaskPathClient:
        return TaskPathClient(source, path, what)

    return client
