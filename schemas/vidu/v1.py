"""Vidu task, version 1: the callback (a notification) and the task `GET .../creations` answers.

Vidu posts "the latest status of the task" to `callback_url`, in the shape of its GET answer, signed
over the request line but not the body. The body is therefore read for two things only: which task
(`id`, else `task_id`; none: quarantined as `unknown_task`) and which state it claims (the fetch job's
identity). The notification's event carries no asset, error or extra: nothing from the body is ever
published, what the API says is (receiver/providers/vidu).

`GET /ent/v2/tasks/{id}/creations` answers `{state, err_code, credits, payload, bgm, off_peak,
creations[]}` without the task's id: the client adds the `id` it asked for, and `fetched_at`, the unix
time it asked, so that the normalizer stays pure.

- `state` (`status` on the template-story page and some relays): `created`, `queueing` → `queued`,
  `processing` → `running`, `success` → `succeeded`, `failed` → `failed` with `err_code` as the
  error's code (and message), `UserCancelled` → `canceled`; any other word is quarantined.
- `creations[]`: `url` is a `video` asset, `cover_url` an `image`, `watermarked_url` a
  `watermarked_video`. They are presigned for 24 hours (an older page says one hour): `expires_at` is
  `fetched_at` + the URL's own `X-Amz-Expires` when it has one, else + 24 h.
- `credits`, `payload` (the caller's passthrough), `bgm`, `off_peak` and each creation's `id` are kept
  in `extensions`. Vidu names no model in the task (a relay's `model` is used) and no time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, Field, JsonValue, StrictInt

from schemas.event import Asset, CanonicalEvent, Error, Status
from schemas.normalizing import (
    DeliveryContext,
    NoTask,
    UnknownStatus,
    build_event,
    derived_expiry,
    map_status,
    utc_from_unix,
)

STATES: dict[str, Status] = {
    "created": "queued",
    "queueing": "queued",
    "processing": "running",
    "success": "succeeded",
    "failed": "failed",
}
CANCELLED = "UserCancelled"
RETENTION = timedelta(hours=24)
NO_CODE = "Vidu reported the task failed without an err_code"

# Ids are decimal strings (above 2^53: never through a float); a relay may send a JSON integer.
TaskId = Annotated[str, Field(min_length=1, max_length=256)] | Annotated[StrictInt, Field(ge=0)]


class Notification(BaseModel):
    id: TaskId | None = None
    task_id: TaskId | None = None
    state: str | None = None
    status: str | None = None


class Creation(BaseModel):
    id: TaskId | None = None
    url: str | None = None
    cover_url: str | None = None
    watermarked_url: str | None = None


class Task(BaseModel):
    id: TaskId | None = None
    task_id: TaskId | None = None
    state: str | None = None
    status: str | None = None
    err_code: str | None = None
    model: str | None = None
    credits: int | float | None = None
    payload: str | None = None
    bgm: bool | None = None
    off_peak: bool | None = None
    creations: list[Creation] = Field(default_factory=list)
    video: dict[str, JsonValue] | None = None
    # Added by the receiver's client: when it asked the API (unix seconds).
    fetched_at: float | None = Field(default=None, ge=0)


def _task_id(payload: Notification | Task, ctx: DeliveryContext) -> str:
    task = payload.id if payload.id not in (None, "") else payload.task_id
    if task is None or task == "":
        raise NoTask(f"the {ctx.provider} body names no task (neither id nor task_id)")
    return str(task)


def _status(payload: Notification | Task, ctx: DeliveryContext) -> Status:
    word = payload.state or payload.status
    if word is None:
        raise UnknownStatus(ctx.provider, None)
    return map_status(ctx.provider, word, STATES)


def normalize_notification(payload: Notification, ctx: DeliveryContext) -> CanonicalEvent:
    """The task and the state the callback claims: the fetch job's identity, never published as such."""
    return build_event(
        ctx, task_id=_task_id(payload, ctx), task_type="generation", status=_status(payload, ctx)
    )


def expiry(url: str, fetched_at: datetime | None) -> datetime | None:
    """When a presigned result URL stops working: its `X-Amz-Expires` after the fetch, else 24 h."""
    lifetime = RETENTION
    seconds = parse_qs(urlsplit(url).query).get("X-Amz-Expires", [""])[0]
    if seconds.isascii() and seconds.isdigit():
        lifetime = timedelta(seconds=int(seconds))
    return derived_expiry(fetched_at, lifetime)


def normalize_task(payload: Task, ctx: DeliveryContext) -> CanonicalEvent:
    status = _status(payload, ctx)
    error = None
    if status == "failed":
        if payload.err_code == CANCELLED:
            status, error = "canceled", None
        else:
            error = Error(code=payload.err_code or None, message=payload.err_code or NO_CODE)
    fetched_at = utc_from_unix(payload.fetched_at) if payload.fetched_at is not None else ctx.received_at
    assets = [
        Asset(kind=kind, url=url, expires_at=expiry(url, fetched_at))
        for creation in payload.creations
        for kind, url in (
            ("video", creation.url),
            ("image", creation.cover_url),
            ("watermarked_video", creation.watermarked_url),
        )
        if url
    ]
    creation_ids = [str(creation.id) for creation in payload.creations if creation.id not in (None, "")]
    extras: dict[str, Any] = {
        "credits": payload.credits,
        "payload": payload.payload or None,
        "bgm": payload.bgm,
        "off_peak": payload.off_peak,
        "creation_ids": creation_ids or None,
        "video": payload.video,
        "err_code": payload.err_code if status == "canceled" else None,
    }
    return build_event(
        ctx,
        task_id=_task_id(payload, ctx),
        task_type="generation",
        status=status,
        model=payload.model,
        error=error,
        assets=assets,
        extensions={name: value for name, value in extras.items() if value is not None},
    )
