"""OpenAI Videos API: thin `video.*` webhooks (Standard Webhooks), the video object fetched after them.

OpenAI shut the Videos API down on 2026-09-24. The provider stays: relays copy its shape, and
OpenAI's other webhooks are Standard Webhooks.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from receiver.clients.task_path import task_path_client
from receiver.providers.base import Provider
from receiver.sources import SourceConfig
from schemas.openai import SCHEMAS


class OpenAISource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "standard-webhooks"
    provider: Literal["openai"]
    api_base_url: str | None = "https://api.openai.com"


PROVIDER = Provider(
    settings=OpenAISource,
    schemas=SCHEMAS,
    callbacks="thin",
    client=task_path_client("/v1/videos/{task_id}", "video"),
)
