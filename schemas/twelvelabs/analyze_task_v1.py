"""TwelveLabs analyze task, version 1: the object `GET /v1.3/analyze/tasks/{id}` returns.

`{task_id, status, created_at, completed_at, result {generation_id, data, finish_reason, usage
{output_tokens, input_tokens}}, error {message}, webhooks [...]}`. `result.data` is the generated text.
`finish_reason` is open (`stop`, `length`, ...); `length` means the text was cut at the token limit.
When the task is fetched after a webhook, the webhook's own event (`ctx.notice`) adds what only the
webhook says: its truncation, its custom id and video source, and its delivery id.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, JsonValue

from schemas.event import CanonicalEvent, Usage
from schemas.normalizing import DeliveryContext, build_event, total_tokens
from schemas.twelvelabs.common import TaskError, outcome, status_of


class TokenUsage(BaseModel):
    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)


class Result(BaseModel):
    generation_id: str | None = None
    data: str | None = None
    finish_reason: str | None = None
    usage: TokenUsage | None = None


class AnalyzeTask(BaseModel):
    task_id: str = Field(min_length=1)
    status: str
    # Not documented today; published as the event's model only when the API names one.
    model_name: str | None = None
    created_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    result: Result | None = None
    error: TaskError | None = None
    webhooks: list[JsonValue] | None = None


def normalize(payload: AnalyzeTask, ctx: DeliveryContext) -> CanonicalEvent:
    status = status_of(payload.status)
    task_outcome = outcome(status, payload.error)
    result = payload.result or Result()
    usage = result.usage or TokenUsage()
    notice = ctx.notice

    extensions: dict[str, Any] = {**(notice.extensions if notice else {}), **task_outcome.extensions}
    if result.generation_id is not None:
        extensions["generation_id"] = result.generation_id
    if result.finish_reason is not None:
        extensions["finish_reason"] = result.finish_reason
    truncated = (
        task_outcome.truncated
        or result.finish_reason == "length"
        or (notice is not None and notice.truncated)
    )
    return build_event(
        ctx,
        task_id=payload.task_id,
        task_type="analysis",
        status=status,
        model=payload.model_name,
        text=result.data,
        usage=Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=total_tokens(usage.input_tokens, usage.output_tokens),
        ),
        error=task_outcome.error,
        truncated=truncated,
        occurred_at=payload.completed_at or (notice.occurred_at if notice else None),
        delivery_id=notice.delivery_id if notice else None,
        extensions=extensions,
    )
