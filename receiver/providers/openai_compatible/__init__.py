"""Relays exposing OpenAI's `/v1/videos` for Veo 3.1: poll only, the video object in OpenAI's shape."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from receiver.clients.task_path import task_path_client
from receiver.providers.base import Provider
from receiver.sources import SourceConfig
from schemas.openai_compatible import SCHEMAS


class RelaySource(SourceConfig):
    provider: Literal["openai-compatible"]

    @model_validator(mode="after")
    def _can_poll(self) -> RelaySource:
        """A relay is only ever polled, each at its own address: without both it can never work."""
        self.require("api_base_url", "api_key")
        return self


PROVIDER = Provider(
    settings=RelaySource,
    schemas=SCHEMAS,
    callbacks=None,
    client=task_path_client("/v1/videos/{task_id}", "video"),
)
