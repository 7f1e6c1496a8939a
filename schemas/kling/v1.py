"""Kling task, version 1: the task object (callback) and the query answer that wraps it (API).

The callback posted to `callback_url` on every status change is the bare task object; `GET
/v1/videos/{kind}/{task_id}` answers `{"code": 0, "message": "SUCCEED", "request_id": ..., "data": <task>}`.
A `code` other than 0 is a request error, which the client raises before anything is decoded; here
an answer with another code is not a task and is quarantined.

- `task_status`: `submitted`, `processing`, `succeed`, `failed`; any other word is quarantined. The
  error text of a failed task is `task_status_msg`.
- `created_at`/`updated_at` are unix milliseconds on Kling's own API, seconds on some relays: a value
  above 1e12 is milliseconds. `occurred_at` is `updated_at`.
- `task_result.videos[]` (`url`, and on newer answers `watermark_url`) and `task_result.images[]` (image
  tasks) are the assets. Kling deletes them after 30 days and sends no expiry: `expires_at` is derived,
  `updated_at` + 30 days.
- Kling's task object names no model (a relay's `model_name` is used when present);
  `final_unit_deduction` (units charged), `task_info` (`external_task_id`, `parent_video`), each
  video's `id` and `duration` and the query's `request_id` are kept in `extensions`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue

from schemas.event import Asset, CanonicalEvent, Error, Status
from schemas.normalizing import DeliveryContext, build_event, derived_expiry, map_status, utc_from_unix

STATUSES: dict[str, Status] = {
    "submitted": "queued",
    "processing": "running",
    "succeed": "succeeded",
    "failed": "failed",
}
RETENTION = timedelta(days=30)
NO_MESSAGE = "Kling reported the task failed without a task_status_msg"


class Video(BaseModel):
    id: str | None = None
    url: str = Field(min_length=1)
    watermark_url: str | None = None
    # Seconds, as a string on Kling's API ("5.1") and a number on some relays.
    duration: str | int | float | None = None


class Image(BaseModel):
    index: int | None = None
    url: str = Field(min_length=1)
    watermark_url: str | None = None


class TaskResult(BaseModel):
    videos: list[Video] = Field(default_factory=list)
    images: list[Image] = Field(default_factory=list)


class Task(BaseModel):
    # The task id becomes part of Redis key names: a bound keeps a hostile one from bloating them.
    task_id: str = Field(min_length=1, max_length=256)
    # Open: mapped through STATUSES, an unknown word is quarantined.
    task_status: str
    task_status_msg: str | None = None
    created_at: float | None = Field(default=None, ge=0)
    updated_at: float | None = Field(default=None, ge=0)
    model_name: str | None = None
    final_unit_deduction: str | int | float | None = None
    task_info: dict[str, JsonValue] | None = None
    task_result: TaskResult | None = None


class TaskResponse(BaseModel):
    code: Literal[0]
    message: str | None = None
    request_id: str | None = None
    data: Task


def _assets(result: TaskResult, expires_at: datetime | None) -> list[Asset]:
    assets: list[Asset] = []
    for video in result.videos:
        assets.append(Asset(kind="video", url=video.url, expires_at=expires_at))
        if video.watermark_url:
            assets.append(Asset(kind="watermarked_video", url=video.watermark_url, expires_at=expires_at))
    for image in result.images:
        assets.append(Asset(kind="image", url=image.url, expires_at=expires_at))
        if image.watermark_url:
            assets.append(Asset(kind="watermarked_image", url=image.watermark_url, expires_at=expires_at))
    return assets


def normalize(payload: Task, ctx: DeliveryContext) -> CanonicalEvent:
    return _event(payload, ctx, request_id=None)


def normalize_response(payload: TaskResponse, ctx: DeliveryContext) -> CanonicalEvent:
    return _event(payload.data, ctx, request_id=payload.request_id)


def _event(task: Task, ctx: DeliveryContext, request_id: str | None) -> CanonicalEvent:
    status = map_status(ctx.provider, task.task_status, STATUSES)
    error = None
    if status == "failed":
        error = Error(code=None, message=task.task_status_msg or NO_MESSAGE)
    updated_at = utc_from_unix(task.updated_at)
    completed_at = updated_at or utc_from_unix(task.created_at)
    result = task.task_result or TaskResult()
    videos = [video.model_dump(include={"id", "duration"}, exclude_none=True) for video in result.videos]
    extras: dict[str, Any] = {
        "task_status_msg": task.task_status_msg if status != "failed" and task.task_status_msg else None,
        "final_unit_deduction": task.final_unit_deduction,
        "task_info": task.task_info,
        "videos": videos if any(videos) else None,
        "request_id": request_id,
    }
    return build_event(
        ctx,
        task_id=task.task_id,
        task_type="generation",
        status=status,
        model=task.model_name,
        error=error,
        assets=_assets(result, derived_expiry(completed_at, RETENTION)),
        occurred_at=updated_at,
        extensions={name: value for name, value in extras.items() if value is not None},
    )
