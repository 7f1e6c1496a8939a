"""memories.ai async video description callback, version 1.

Success: `{"code": 200, "message": "SUCCESS", "task_id": ..., "data": {"msg": "ok", "success": true,
"data": {"data": [segments], "error_rate": ..., "usage_metadata": {...}}}}`. Segment times are float
seconds; `usage_metadata.duration` is processing time in seconds, not the video's length. The failure
callback is undocumented: any `code` outside the success set, or `data.success == false`, is a failure,
and the inner result may then be null or missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from schemas.event import CanonicalEvent, Error, Segment, Usage
from schemas.normalizing import DeliveryContext, build_event, seconds_to_ms, total_tokens

# The reference shows the integer 200, its tables type `code` as a string, and sibling endpoints use
# "0000": all three mean success.
SUCCESS_CODES: frozenset[int | str] = frozenset({200, "200", "0000"})


class TranscriptSegment(TypedDict):
    """A dict, not a model: a result holds up to thousands of these, and pydantic validates a list of
    TypedDicts in a third of the time it takes to build as many model instances."""

    start_time: Annotated[float, Field(ge=0)]
    end_time: Annotated[float, Field(ge=0)]
    transcript: str


class UsageMetadata(BaseModel):
    duration: float | None = Field(default=None, ge=0)
    model: str | None = None
    output_tokens: int | None = Field(default=None, ge=0)
    prompt_tokens: int | None = Field(default=None, ge=0)


class Result(BaseModel):
    data: list[TranscriptSegment] | None = None
    error_rate: float | None = None
    usage_metadata: UsageMetadata | None = None


class Outcome(BaseModel):
    msg: str | None = None
    success: bool | None = None
    data: Result | None = None


class Callback(BaseModel):
    code: int | str
    message: str | None = None
    # The task id becomes part of Redis key names: a bound keeps a hostile one from bloating them.
    task_id: str = Field(min_length=1, max_length=256)
    data: Outcome | None = None


# PERF: positional arguments, `round` inline (bench/README.md, index: decode).
def _segments(data: Iterable[TranscriptSegment]) -> list[Segment]:
    """One `Segment` per item and nothing else allocated: this loop is most of a long result's cost."""
    try:
        # Positional (start_ms, end_ms, text, kind): a third cheaper than keywords; `round` inline, as
        # `seconds_to_ms` would add a call per time.
        return [
            Segment(
                round(item["start_time"] * 1000),
                round(item["end_time"] * 1000),
                item["transcript"],
                "description",
            )
            for item in data
        ]
    except OverflowError:  # near the largest float, milliseconds are infinite: say which time
        for item in data:
            seconds_to_ms(item["start_time"])
            seconds_to_ms(item["end_time"])
        raise


def normalize(payload: Callback, ctx: DeliveryContext) -> CanonicalEvent:
    outcome = payload.data or Outcome()
    result = outcome.data or Result()
    usage = result.usage_metadata or UsageMetadata()
    succeeded = payload.code in SUCCESS_CODES and outcome.success is not False

    error = None
    if not succeeded:
        code = None if payload.code in SUCCESS_CODES else str(payload.code)
        error = Error(code=code, message=outcome.msg or payload.message or "memories.ai reported a failure")

    extensions = {} if result.error_rate is None else {"error_rate": result.error_rate}
    return build_event(
        ctx,
        task_id=payload.task_id,
        task_type="description",
        status="succeeded" if succeeded else "failed",
        model=usage.model,
        segments=_segments(result.data or ()),
        usage=Usage(
            input_tokens=usage.prompt_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=total_tokens(usage.prompt_tokens, usage.output_tokens),
            processing_ms=None if usage.duration is None else seconds_to_ms(usage.duration),
        ),
        error=error,
        extensions=extensions,
    )
