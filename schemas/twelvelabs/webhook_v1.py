"""TwelveLabs webhook envelope, version 1: thin notices of analyze and index tasks.

`{"id": "whe_...", "created_at": "<RFC 3339, any offset>", "type": "analyze.task.ready", "data": {...}}`.
The envelope `id` stays the same across retries: it is the delivery id (the TL-Signature verifier
has none to offer). The `type` family (`analyze.task.*`, `index.task.*`) decides the shape of `data`
and the task type, so an unknown family is an unknown schema version; the word after it is open,
and the status is read from `data.status`.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, JsonValue, RootModel

from schemas.event import CanonicalEvent, TaskType
from schemas.normalizing import DeliveryContext, build_event
from schemas.twelvelabs.common import IndexPlacement, TaskError, outcome, status_of


class TaskData(BaseModel):
    """What every task notice carries; index notices carry no more than this."""

    id: str = Field(min_length=1)
    created_at: AwareDatetime | None = None
    status: str
    error: TaskError | None = None


class AnalyzeTaskData(TaskData):
    # Always sent, null when the task was created without one: required but nullable.
    custom_id: str | None
    video_source: JsonValue = None


class IndexTaskData(TaskData, IndexPlacement):
    """An index task names where the video went; TwelveLabs' task object carries these."""


class AnalyzeWebhook(BaseModel):
    id: str = Field(min_length=1)
    created_at: AwareDatetime
    type: str = Field(pattern=r"^analyze\.task\.[a-z_]+$")
    data: AnalyzeTaskData


class IndexWebhook(BaseModel):
    id: str = Field(min_length=1)
    created_at: AwareDatetime
    type: str = Field(pattern=r"^index\.task\.[a-z_]+$")
    data: IndexTaskData


class Webhook(RootModel[AnalyzeWebhook | IndexWebhook]):
    pass


def normalize(payload: Webhook, ctx: DeliveryContext) -> CanonicalEvent:
    webhook = payload.root
    status = status_of(webhook.data.status)
    result = outcome(status, webhook.data.error)
    task_type: TaskType = "analysis"
    extensions: dict[str, Any] = dict(result.extensions)
    if isinstance(webhook, AnalyzeWebhook):
        extensions["custom_id"] = webhook.data.custom_id
        if webhook.data.video_source is not None:
            extensions["video_source"] = webhook.data.video_source
    else:
        task_type = "indexing"
        extensions.update(webhook.data.placement())
    return build_event(
        ctx,
        task_id=webhook.data.id,
        task_type=task_type,
        status=status,
        error=result.error,
        truncated=result.truncated,
        occurred_at=webhook.created_at,
        delivery_id=webhook.id,
        extensions=extensions,
    )
