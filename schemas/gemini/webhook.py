"""Gemini static webhooks, envelope version `v1`: `{type, version, timestamp, data}`, thin.

`data.id` names the task: a Veo operation (`models/<model>/operations/<id>`) for `video.generated`, an
interaction id for `interaction.*`. Whether a webhook may carry only the operation's last segment is
not documented: such an id is kept as `operations/<id>`, so that the client still asks for an
operation and the task id says what it is. `type` is an open enum: `batch.*` (batch jobs are no video
tasks) and any type no mapping knows are quarantined as `unknown_status`.

This event is published as it is only where nothing is fetched (no `api_key`): `video.generated`
then carries the file named by `output_file_uri`, and `interaction.failed` its own error, which is
also kept in `extensions.webhook_error` so that it survives a fetch that never succeeds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas.event import Asset, CanonicalEvent, Error, Status
from schemas.gemini.common import RETENTION, model_of
from schemas.normalizing import DeliveryContext, build_event, derived_expiry, map_status

VIDEO_GENERATED = "video.generated"
TYPES: dict[str, Status] = {
    VIDEO_GENERATED: "succeeded",
    "interaction.completed": "succeeded",
    "interaction.failed": "failed",
    "interaction.cancelled": "canceled",
    "interaction.requires_action": "suspended",
}
THIN_FAILURE = "the interaction failed; the webhook gives no error message"


class WebhookData(BaseModel):
    id: str = Field(min_length=1)
    output_file_uri: str | None = None
    file_name: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class Webhook(BaseModel):
    # Open: mapped through TYPES, an unknown type is quarantined.
    type: str
    version: Literal["v1"] | None = None
    timestamp: datetime
    data: WebhookData


def task_id_of(payload: Webhook) -> str:
    if payload.type == VIDEO_GENERATED and "/" not in payload.data.id:
        return f"operations/{payload.data.id}"
    return payload.data.id


def normalize(payload: Webhook, ctx: DeliveryContext) -> CanonicalEvent:
    status = map_status("gemini", payload.type, TYPES)
    data = payload.data
    task_id = task_id_of(payload)
    error = None
    if status == "failed":
        error = Error(code=data.error_code, message=data.error_message or THIN_FAILURE)
    assets: tuple[Asset, ...] = ()
    if data.output_file_uri is not None:
        assets = (
            Asset(
                kind="video",
                url=data.output_file_uri,
                expires_at=derived_expiry(payload.timestamp, RETENTION),
            ),
        )
    extras: dict[str, Any] = {
        "webhook_type": payload.type,
        "file_name": data.file_name,
        "webhook_error": None if error is None else {"code": error.code, "message": error.message},
    }
    return build_event(
        ctx,
        task_id=task_id,
        task_type="generation",
        status=status,
        model=model_of(task_id),
        error=error,
        assets=assets,
        occurred_at=payload.timestamp,
        extensions={name: value for name, value in extras.items() if value is not None},
    )
