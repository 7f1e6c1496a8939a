"""Runway API (`api.dev.runwayml.com`): poll only; tasks read with a Bearer key and a pinned API version."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from receiver.clients.task_path import task_path_client
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


PROVIDER = Provider(
    settings=RunwaySource,
    schemas=SCHEMAS,
    callbacks=None,
    client=task_path_client("/v1/tasks/{task_id}", "Runway task"),
)
