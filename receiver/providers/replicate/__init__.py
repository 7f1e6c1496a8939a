"""Replicate predictions: signed (Standard Webhooks) full callbacks; watched predictions are polled.

The webhook body is the whole prediction, so a signed callback is published as it is, never fetched;
`GET /v1/predictions/{id}` (Bearer) serves polling and reconciliation of watched predictions.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from receiver.clients.task_path import task_path_client
from receiver.providers.base import Provider
from receiver.sources import SourceConfig
from schemas.replicate import SCHEMAS


class ReplicateSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "standard-webhooks"
    provider: Literal["replicate"]
    api_base_url: str | None = "https://api.replicate.com"


PROVIDER = Provider(
    settings=ReplicateSource,
    schemas=SCHEMAS,
    callbacks="full",
    client=task_path_client("/v1/predictions/{task_id}", "prediction"),
)
