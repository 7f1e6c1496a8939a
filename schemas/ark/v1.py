"""Ark content generation task (Seedance), version 1: `GET {base}/contents/generations/tasks/{id}`.

The callback posted to `callback_url` on every status change has "the same structure as the query-task
response", so one model serves both.

- `status`: `queued`, `running`, `succeeded`, `failed`, `cancelled` (a queued task deleted), `expired`
  (queued or running longer than `execution_expires_after`): `failed`, with `provider_status:
  "expired"` in `extensions` and `expired` as the error code when Ark sent no error. Any other word is
  quarantined.
- `error {code, message}` is the failure; SDK releases before the `error` object carried a plain
  `failure_reason`, accepted as the message.
- `content.video_url` is a `video` asset, `content.last_frame_url` an `image`, `content.file_url` a
  `file`. The signed URLs are valid for 24 hours and carry no expiry field: `expires_at` is derived,
  `updated_at` + 24 h.
- `usage.completion_tokens` is the billing basis: `output_tokens`. Seedance has no input tokens, so
  `total_tokens` is `usage.total_tokens`, or `completion_tokens` when Ark leaves it out.
- `created_at`/`updated_at` are unix seconds; `occurred_at` is `updated_at`. The generation's settings
  (seed, resolution, ratio, duration, frames per second, audio, draft, service tier, ...) are kept in
  `extensions`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field, JsonValue

from schemas.event import Asset, CanonicalEvent, Error, Status, Usage
from schemas.normalizing import DeliveryContext, build_event, derived_expiry, map_status, utc_from_unix

STATUSES: dict[str, Status] = {
    "queued": "queued",
    "running": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "expired": "failed",
    "cancelled": "canceled",
}
# Status words the canonical status loses: kept in `extensions.provider_status`.
KEPT_WORDS = frozenset({"expired"})
RETENTION = timedelta(hours=24)
NO_MESSAGE = "Ark reported the task failed without an error"
EXPIRED_MESSAGE = "the task was queued or running longer than its execution_expires_after"
SETTINGS = frozenset(
    {
        "seed",
        "resolution",
        "ratio",
        "duration",
        "frames",
        "framespersecond",
        "generate_audio",
        "draft",
        "draft_task_id",
        "service_tier",
        "execution_expires_after",
        "priority",
        "revised_prompt",
        "fileformat",
        "subdivisionlevel",
        "safety_identifier",
        "tools",
    }
)


class Content(BaseModel):
    video_url: str | None = None
    last_frame_url: str | None = None
    file_url: str | None = None


class TaskUsage(BaseModel):
    completion_tokens: int | None = Field(default=None, ge=0)
    total_tokens: int | None = Field(default=None, ge=0)


class TaskError(BaseModel):
    code: str | None = None
    message: str | None = None


class Task(BaseModel):
    # The task id becomes part of Redis key names: a bound keeps a hostile one from bloating them.
    id: str = Field(min_length=1, max_length=256)
    model: str | None = None
    # Open: mapped through STATUSES, an unknown word is quarantined.
    status: str
    error: TaskError | None = None
    failure_reason: str | None = None
    content: Content | None = None
    usage: TaskUsage | None = None
    created_at: float | None = Field(default=None, ge=0)
    updated_at: float | None = Field(default=None, ge=0)
    seed: int | None = None
    resolution: str | None = None
    ratio: str | None = None
    duration: int | float | None = None
    frames: int | None = None
    framespersecond: int | float | None = None
    generate_audio: bool | None = None
    draft: bool | None = None
    draft_task_id: str | None = None
    service_tier: str | None = None
    execution_expires_after: int | None = None
    priority: int | None = None
    revised_prompt: str | None = None
    fileformat: str | None = None
    subdivisionlevel: str | None = None
    safety_identifier: str | None = None
    tools: list[dict[str, JsonValue]] | None = None


def _error(task: Task, status: Status) -> Error | None:
    if status != "failed":
        return None
    given = task.error or TaskError()
    message = given.message or task.failure_reason
    if task.status == "expired":
        return Error(code=given.code or "expired", message=message or EXPIRED_MESSAGE)
    return Error(code=given.code, message=message or NO_MESSAGE)


def normalize(payload: Task, ctx: DeliveryContext) -> CanonicalEvent:
    status = map_status(ctx.provider, payload.status, STATUSES)
    updated_at = utc_from_unix(payload.updated_at)
    expires_at = derived_expiry(updated_at or utc_from_unix(payload.created_at), RETENTION)
    content = payload.content or Content()
    usage = payload.usage or TaskUsage()
    extras: dict[str, Any] = payload.model_dump(include=set(SETTINGS), exclude_none=True)
    if payload.status in KEPT_WORDS:
        extras["provider_status"] = payload.status
    return build_event(
        ctx,
        task_id=payload.id,
        task_type="generation",
        status=status,
        model=payload.model,
        usage=Usage(
            output_tokens=usage.completion_tokens,
            total_tokens=usage.completion_tokens if usage.total_tokens is None else usage.total_tokens,
        ),
        error=_error(payload, status),
        assets=(
            Asset(kind=kind, url=url, expires_at=expires_at)
            for kind, url in (
                ("video", content.video_url),
                ("image", content.last_frame_url),
                ("file", content.file_url),
            )
            if url
        ),
        occurred_at=updated_at,
        extensions=extras,
    )
