"""fal Queue API (`queue.fal.run`): one ED25519-signed webhook when a request finishes, its output inline.

The webhook is the result (full). The queue's status and result routes are the task API, for watched
requests, for sources whose callbacks prove nothing (`verify = "url-token"` or `"none"` with an
`api_key`), and for a signed OK whose output fal could not serialize into it (`payload_error`): they need
the model, which the webhook does not name, hence `model_id`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from receiver.providers.base import Provider
from receiver.providers.fal.client import FalQueueClient
from receiver.sources import SourceConfig
from schemas.event import CanonicalEvent
from schemas.fal import SCHEMAS


class FalSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "fal"
    provider: Literal["fal"]
    api_base_url: str | None = "https://queue.fal.run"
    # The endpoint the requests were submitted to (`fal-ai/kling-video/v2/master/text-to-video`): the
    # queue's routes are under its app (`fal-ai/kling-video`), and nothing fal sends names it.
    model_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+$")

    @property
    def has_api_credentials(self) -> bool:
        return self.api_key is not None and self.model_id is not None

    def api_headers(self) -> dict[str, str]:
        if self.api_key is None:
            return {}
        return {"authorization": f"Key {self.api_key.get_secret_value()}"}


def result_left_out(event: CanonicalEvent) -> bool:
    """fal's OK with `payload_error`: the request succeeded but its output could not be put in the
    webhook; with `api_key` and `model_id` it is read from the queue's result route instead."""
    return event.extensions.get("payload_error") is not None


PROVIDER = Provider(
    settings=FalSource,
    schemas=SCHEMAS,
    callbacks="full",
    client=FalQueueClient,
    result_left_out=result_left_out,
)
