"""TwelveLabs video indexing task, version 1: the object `GET /v1.3/tasks/{id}` returns.

`{_id, index_id, video_id, status (validating|pending|queued|indexing|ready|failed), created_at,
updated_at, estimated_time, system_metadata, hls}`: an index task has no result beyond where the video
went (its index and video ids). Fetched after an `index.task.*` webhook, the webhook's own event
(`ctx.notice`) adds what only the webhook says and its delivery id.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from schemas.event import CanonicalEvent
from schemas.normalizing import DeliveryContext, build_event
from schemas.twelvelabs.common import IndexPlacement, TaskError, outcome, status_of


class IndexTask(IndexPlacement):
    id: str = Field(alias="_id", min_length=1)
    status: str
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    estimated_time: AwareDatetime | None = None
    error: TaskError | None = None


def normalize(payload: IndexTask, ctx: DeliveryContext) -> CanonicalEvent:
    status = status_of(payload.status)
    task_outcome = outcome(status, payload.error)
    notice = ctx.notice
    extensions: dict[str, Any] = {
        **(notice.extensions if notice else {}),
        **task_outcome.extensions,
        **payload.placement(),
    }
    return build_event(
        ctx,
        task_id=payload.id,
        task_type="indexing",
        status=status,
        error=task_outcome.error,
        truncated=task_outcome.truncated,
        occurred_at=payload.updated_at if status in ("succeeded", "failed") else None,
        delivery_id=notice.delivery_id if notice else None,
        extensions=extensions,
    )
