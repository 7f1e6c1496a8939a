"""The commonest task API: `GET {api_base_url}/<path>/{task_id}` with the source's credentials, JSON back.

Providers whose task object is one plain GET away (OpenAI's videos, TwelveLabs' analyze tasks,
Replicate's predictions, OpenRouter's video jobs, Luma's generations, Ark's tasks, Runway's tasks)
declare `client=task_path_client(path, what)`; what the answer means is their schemas' business, and
their credentials their settings' (`api_headers`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import quote

import httpx

from receiver.clients.base import ResourceClient
from receiver.clients.http import api_client, get_json
from receiver.foundation.errors import RemoteError
from receiver.sources import SourceConfig
from schemas.event import TaskType


class TaskPathClient:
    def __init__(self, http: httpx.AsyncClient, source_id: str, path: str, what: str) -> None:
        """`http` is the source's API client (`api_client`); `path` is the task's path below
        `api_base_url`, with `{task_id}` where the id goes; `what` names the resource in error messages."""
        self._http = http
        self._path = path
        self._what = what
        self._source = source_id

    async def get_task(self, task_id: str) -> bytes:
        url = self._path.format(task_id=quote(task_id, safe=""))
        return await get_json(self._http, url, f"GET {self._what} {task_id} ({self._source})")

    async def aclose(self) -> None:
        await self._http.aclose()


def task_path_client(path: str, what: str) -> Callable[[SourceConfig], TaskPathClient]:
    """The `client` of a provider whose task is at `path` (with `{task_id}`), named `what` in errors."""

    def client(source: SourceConfig) -> TaskPathClient:
        return TaskPathClient(api_client(source), source.id, path, what)

    return client


class TaskRoutesClient:
    """A provider with several kinds of task, each at its own path (TwelveLabs' analyze and indexing
    tasks): a task of a known kind is asked at its route; of an unknown kind, at each route in turn
    until one knows it (a 404 elsewhere only means the task is of another kind)."""

    def __init__(self, source: SourceConfig, routes: Mapping[TaskType, tuple[str, str]]) -> None:
        """`routes`: per kind of task, its path (with `{task_id}`) and what errors call it. The routes
        share one HTTP client, so one connection pool per source."""
        self._http = api_client(source)
        self._routes = {
            kind: TaskPathClient(self._http, source.id, path, what) for kind, (path, what) in routes.items()
        }

    async def get_task(self, task_id: str) -> bytes:
        return await self.get_task_of(task_id, None)

    def route(self, task_type: TaskType) -> TaskPathClient:
        """The client of one kind of task's route."""
        return self._routes[task_type]

    async def get_task_of(self, task_id: str, task_type: TaskType | None) -> bytes:
        if task_type in self._routes:
            return await self.route(task_type).get_task(task_id)
        missing: RemoteError | None = None
        for route in self._routes.values():
            try:
                return await route.get_task(task_id)
            except RemoteError as exc:
                if exc.status != 404:
                    raise
                missing = exc
        assert missing is not None  # a provider declares at least one route
        raise missing

    async def aclose(self) -> None:
        await self._http.aclose()


def task_routes_client(
    routes: Mapping[TaskType, tuple[str, str]],
) -> Callable[[SourceConfig], TaskRoutesClient]:
    """The `client` of a provider with a route per kind of task (see `TaskRoutesClient`)."""

    def client(source: SourceConfig) -> TaskRoutesClient:
        return TaskRoutesClient(source, routes)

    return client


async def get_task(client: ResourceClient, task_id: str, task_type: TaskType | None) -> bytes:
    """The task from the route of its kind where the provider has one per kind, else its one route."""
    if isinstance(client, TaskRoutesClient):
        return await client.get_task_of(task_id, task_type)
    return await client.get_task(task_id)
