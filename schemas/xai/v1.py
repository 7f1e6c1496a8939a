"""xAI deferred video request, version 1: `GET /v1/videos/{request_id}`'s answer, as the client hands it on.

`{request_id, status, progress?, model?, video?: {url?, duration?, respect_moderation?},
usage?: {cost_in_usd_ticks}, error?: {code, message}}`. The API's answer names no request id and an
in-progress answer may be an empty HTTP 202: the client (receiver/providers/xai/client.py) adds the id
it asked for, and `"status": "pending"` to an empty 202, so that the document says all the receiver saw.

REST says the SDK's `DeferredStatus` in lower case (`pending`, `done`, `failed`, `expired`); relays
also say `queued`/`processing`: all in progress. `done` with a `video.url` is a success whatever
`respect_moderation` says (a protobuf bool: absent reads false); `done` without one was withheld by
moderation. The link is "valid for 24 hours" and the answer has no time: `expires_at` is the poll
time + 24 h. `usage.cost_in_usd_ticks` (1 tick = 1e-10 USD; a JSON string in the REST encoding of an
int64) becomes `extensions.cost_usd`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from schemas.event import Asset, CanonicalEvent, Error, Status
from schemas.normalizing import DeliveryContext, build_event, derived_expiry, map_status

PROVIDER_ID = "xai"
LINK_LIFETIME = timedelta(hours=24)
TICKS_PER_USD = 10**10

STATUSES: dict[str, Status] = {
    "pending": "running",
    "queued": "running",
    "processing": "running",
    "done": "succeeded",
    "failed": "failed",
    "expired": "failed",
}
EXPIRED_MESSAGE = "xAI expired the request before it produced a video"
MODERATION_MESSAGE = "the request is done but returned no video (withheld by xAI's moderation)"
FAILED_MESSAGE = "xAI reported the video generation failed without saying why"


class Video(BaseModel):
    url: str | None = None
    duration: float | None = Field(default=None, ge=0)
    respect_moderation: bool | None = None


class Usage(BaseModel):
    # An int64: a JSON string in proto3's JSON mapping, a number from some relays.
    cost_in_usd_ticks: int | None = Field(default=None, ge=0)


class VideoError(BaseModel):
    code: str | None = None
    message: str | None = None


class VideoRequest(BaseModel):
    request_id: str = Field(min_length=1, max_length=256)
    status: str
    progress: int | None = Field(default=None, ge=0, le=100)
    model: str | None = None
    video: Video | None = None
    usage: Usage | None = None
    error: VideoError | None = None


def cost_usd(usage: Usage | None) -> float | None:
    if usage is None or usage.cost_in_usd_ticks is None:
        return None
    return round(usage.cost_in_usd_ticks / TICKS_PER_USD, 10)


def _outcome(payload: VideoRequest) -> tuple[Status, Error | None]:
    word = payload.status.lower()
    status = map_status(PROVIDER_ID, word, STATUSES)
    url = payload.video.url if payload.video is not None else None
    if word == "expired":
        return status, Error(code="expired", message=EXPIRED_MESSAGE)
    if word == "done" and not url:
        return "failed", Error(code="moderation", message=MODERATION_MESSAGE)
    if status == "failed":
        given = payload.error or VideoError()
        return status, Error(code=given.code or "failed", message=given.message or FAILED_MESSAGE)
    return status, None


def normalize(payload: VideoRequest, ctx: DeliveryContext) -> CanonicalEvent:
    status, error = _outcome(payload)
    assets: tuple[Asset, ...] = ()
    if status == "succeeded" and payload.video is not None and payload.video.url:
        expires_at = derived_expiry(ctx.received_at, LINK_LIFETIME)
        assets = (Asset(kind="video", url=payload.video.url, expires_at=expires_at),)
    extras: dict[str, Any] = {
        "progress": payload.progress,
        "cost_usd": cost_usd(payload.usage),
        "duration_seconds": payload.video.duration if payload.video is not None and assets else None,
    }
    return build_event(
        ctx,
        task_id=payload.request_id,
        task_type="generation",
        status=status,
        model=payload.model or None,
        error=error,
        assets=assets,
        extensions={name: value for name, value in extras.items() if value is not None},
    )
