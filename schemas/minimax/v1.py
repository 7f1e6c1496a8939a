"""MiniMax Hailuo video generation task, version 1: the callback, and the task as the client fetches it.

The callback and `GET /v1/query/video_generation` share one shape: `{task_id, status, file_id,
video_width, video_height, base_resp {status_code, status_msg}}`. The status word comes in any case
(`processing`, `Success`, `Fail`, `failed`, ...): it is compared case-insensitively. A non-zero
`base_resp.status_code` is MiniMax's error: the task failed, with that code (as a string) and
`status_msg`.

The result is only named (`file_id`); the client (receiver/providers/minimax/client.py) resolves it
through `GET /v1/files/retrieve` and merges the file object as `file`, with `file_retrieved_at` (unix
seconds) set by the client when it asked. The download link lives 9 hours from the retrieve, so
`expires_at` = `file_retrieved_at` + 9 h (derived); a document without it (a callback decoded as sent)
falls back to the file's `created_at` + 9 h, which is earlier and so on the safe side.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from schemas.event import Asset, CanonicalEvent, Error, Status
from schemas.normalizing import DeliveryContext, UnknownStatus, build_event, derived_expiry, utc_from_unix

PROVIDER_ID = "minimax"
LINK_LIFETIME = timedelta(hours=9)

# Lowercase keys: the word is compared case-insensitively.
STATUSES: dict[str, Status] = {
    "preparing": "queued",
    "queueing": "queued",
    "processing": "running",
    "success": "succeeded",
    "fail": "failed",
    "failed": "failed",
}


class BaseResp(BaseModel):
    status_code: int
    status_msg: str | None = None


class File(BaseModel):
    # An int64 in files/retrieve, a string in the task: either names the same file.
    file_id: int | str | None = None
    bytes: int | None = Field(default=None, ge=0)
    created_at: int | None = Field(default=None, ge=0)
    filename: str | None = None
    purpose: str | None = None
    download_url: str | None = None


class Task(BaseModel):
    # The task id becomes part of Redis key names: bounded.
    task_id: str = Field(min_length=1, max_length=256)
    status: str
    # "" until the task succeeded.
    file_id: int | str | None = None
    video_width: int | None = Field(default=None, ge=0)
    video_height: int | None = Field(default=None, ge=0)
    base_resp: BaseResp | None = None
    # Added by the client: the resolved file and when it was resolved.
    file: File | None = None
    file_retrieved_at: float | None = Field(default=None, ge=0)


def status_of(word: str) -> Status:
    try:
        return STATUSES[word.lower()]
    except KeyError:
        raise UnknownStatus(PROVIDER_ID, word) from None


def _asset(payload: Task) -> Asset:
    file = payload.file or File()
    retrieved = payload.file_retrieved_at
    issued = utc_from_unix(file.created_at if retrieved is None else retrieved)
    url = file.download_url or None
    return Asset(kind="video", url=url, expires_at=derived_expiry(issued, LINK_LIFETIME) if url else None)


def normalize(payload: Task, ctx: DeliveryContext) -> CanonicalEvent:
    status = status_of(payload.status)
    error = None
    resp = payload.base_resp
    if resp is not None and resp.status_code != 0:
        status = "failed"
        error = Error(code=str(resp.status_code), message=resp.status_msg or "MiniMax reported an error")
    elif status == "failed":
        error = Error(code=None, message="MiniMax reported the task failed without a reason")
    file = payload.file or File()
    extras: dict[str, Any] = {
        "file_id": str(payload.file_id) if payload.file_id not in (None, "") else None,
        "video_width": payload.video_width,
        "video_height": payload.video_height,
        "bytes": file.bytes,
        "filename": file.filename,
    }
    return build_event(
        ctx,
        task_id=payload.task_id,
        task_type="generation",
        status=status,
        error=error,
        assets=(_asset(payload),) if status == "succeeded" else (),
        occurred_at=utc_from_unix(file.created_at),
        extensions={name: value for name, value in extras.items() if value is not None},
    )
