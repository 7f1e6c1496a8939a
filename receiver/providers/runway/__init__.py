"""Runway API (`api.dev.runwayml.com`): poll only; tasks read with a Bearer key and a pinned API version."""

from __future__ import annotations

from typing import ClassVar, Literal
from urllib.parse import quote

from pydantic import model_validator

from receiver.clients.http import api_client, get_json
from receiver.providers.base import Provider
from receiver.sources import SourceConfig
from schemas.runway import SCHEMAS


class RunwaySource(SourceConfig):
    # The API version the task schema (schemas/runway/v1.py) was written against; Runway requires it.
    API_VERSION: ClassVar[str] = "2024-11-06"
    provider: Literal["runway"]
    api_base_url: str | None = "https://api.dev.runwayml.com"

    @model_validator(mode="after")
    def _can_poll(self) -> RunwaySource:
        """Runway calls nobody back: a source without a key can never see a task."""
        self.require("api_key")
        return self

    def api_headers(self) -> dict[str, str]:
        return {**super().api_headers(), "x-runway-version": self.API_VERSION}


class RunwayClient:
    """`GET {api_base_url}/v1/tasks/{id}`."""

    def __init__(self, source: SourceConfig) -> None:
        self._source = source.id
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        return await get_json(
            self._http, f"/v1/tasks/{quote(task_id, safe='')}", f"Runway task {task_id} ({self._source})"
        )

    async def aclose(self) -> None:
        await self._http.aclose()


PROVIDER = Provider(settings=RunwaySource, schemas=SCHEMAS, callbacks=None, client=RunwayClient)
