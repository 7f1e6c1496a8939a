"""Luma Dream Machine: the Generation object posted to `callback_url` on every change, unsigned.

Luma signs nothing: a high-entropy token in the registered URL proves the sender knows the URL, not
what it says. With `api_key` the callback is a notification and the generation is fetched from
`GET /dream-machine/v1/generations/{id}` (Bearer); without it the body is decoded as sent. Luma
retries any answer but 200 (three times, 100 ms apart), so callbacks are answered 200.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from receiver.clients.task_path import task_path_client
from receiver.providers.base import Provider
from receiver.sources import SourceConfig
from schemas.luma import SCHEMAS


class LumaSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "url-token"
    provider: Literal["luma"]
    api_base_url: str | None = "https://api.lumalabs.ai"


PROVIDER = Provider(
    settings=LumaSource,
    schemas=SCHEMAS,
    callbacks="full",
    client=task_path_client("/dream-machine/v1/generations/{task_id}", "Luma generation"),
    success_status=200,
)
