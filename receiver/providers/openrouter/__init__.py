"""OpenRouter video jobs (`/api/v1/videos`): a signed webhook per terminal state, the job polled.

Without a workspace signing secret OpenRouter signs nothing: such a source uses `verify = "url-token"`
(or `"none"` behind a gateway), and with an `api_key` each callback is a notification whose job is
fetched and published as the API says.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from receiver.clients.task_path import task_path_client
from receiver.providers.base import Provider
from receiver.sources import SourceConfig
from schemas.openrouter import SCHEMAS


class OpenRouterSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "openrouter"
    provider: Literal["openrouter"]
    api_base_url: str | None = "https://openrouter.ai"


PROVIDER = Provider(
    settings=OpenRouterSource,
    schemas=SCHEMAS,
    callbacks="full",
    client=task_path_client("/api/v1/videos/{task_id}", "video job"),
)
