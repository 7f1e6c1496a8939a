"""fal Queue API (`queue.fal.run`): one ED25519-signed webhook when a request finishes, its output inline.

The webhook is the result (full). The queue's status and result routes are the task API, for watched
requests, for sources whose callbacks prove nothing (`verify = "url-token"` or `"none"` with an
`api_key`), and for a signed OK whose output fal could not serialize into it (`payload_error`): they need
the model, which the webhook does not name, hence `model_id`.
"""

from __future__ import annotations

from receiver.providers.base import Provider
from receiver.providers.fal.client import FalQueueClient
from receiver.providers.fal.settings import FalSource
from schemas.event import CanonicalEvent
from schemas.fal import SCHEMAS


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

__all__ = ["PROVIDER", "FalSource"]
