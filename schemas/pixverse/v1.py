"""PixVerse video, version 1: the webhook body, and the video object inside the status API's answer.

The webhook (configured in PixVerse's console, chosen per request) posts `{id, status, url, size,
has_audio, credits}`, signed over a form-encoded copy of those fields (receiver/verifiers/pixverse.py);
`GET /openapi/v2/video/result/{id}` answers `{"ErrCode": 0, "ErrMsg": "success", "Resp": {...}}`. A
non-zero `ErrCode` is a request error, which the client raises before anything is decoded.

- `id` is a decimal string in the webhook and an int64 in the API: the event's `task_id` is its decimal
  string either way (parsed as an integer, never through a float: ids above 2^53 occur).
- `status`: 5 generating → `running`, 1 → `succeeded`, 7 → `failed` (`moderation_failed`), 8 →
  `failed` (`failed`), 6 → `failed` (`deleted`, from secondary sources); any other code is quarantined.
- `url` is the video (`video` asset), `cover_url` (the API's, and some webhooks') its cover (`image`).
  PixVerse states no retention: `expires_at` is null.
- `credits`, `size` (MB) and `has_audio`, and the API's `create_time`, are kept in `extensions`.
  Neither body names the model (it is chosen at submission) nor a time the status changed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictInt

from schemas.event import Asset, CanonicalEvent, Error, Status
from schemas.normalizing import DeliveryContext, UnknownStatus, build_event

STATUSES: dict[int, Status] = {5: "running", 1: "succeeded", 7: "failed", 8: "failed", 6: "failed"}
FAILURES: dict[int, Error] = {
    7: Error(code="moderation_failed", message="PixVerse's content moderation refused the video"),
    8: Error(code="failed", message="PixVerse reported the generation failed"),
    6: Error(code="deleted", message="PixVerse reported the video deleted"),
}


class Webhook(BaseModel):
    # A string in the webhook, an int64 in the API; bounded, as it becomes part of Redis key names.
    id: Annotated[str, Field(min_length=1, max_length=256)] | Annotated[StrictInt, Field(ge=0)]
    # Strict: `true` or `"1"` is no status code.
    status: StrictInt
    url: str | None = None
    cover_url: str | None = None
    size: float | None = None
    has_audio: bool | None = None
    credits: int | float | None = None


class ResultVideo(Webhook):
    """The status API's video object: the webhook's fields and its creation time."""

    create_time: str | None = None


class ResultAnswer(BaseModel):
    ErrCode: Literal[0]
    ErrMsg: str | None = None
    Resp: ResultVideo


def normalize(payload: Webhook, ctx: DeliveryContext) -> CanonicalEvent:
    return _event(payload, ctx, {})


def normalize_answer(payload: ResultAnswer, ctx: DeliveryContext) -> CanonicalEvent:
    return _event(payload.Resp, ctx, {"create_time": payload.Resp.create_time})


def _event(video: Webhook, ctx: DeliveryContext, more: dict[str, Any]) -> CanonicalEvent:
    status = STATUSES.get(video.status)
    if status is None:
        raise UnknownStatus(ctx.provider, video.status)
    extras: dict[str, Any] = {
        "credits": video.credits,
        "size": video.size,
        "has_audio": video.has_audio,
        **more,
    }
    return build_event(
        ctx,
        task_id=str(video.id),
        task_type="generation",
        status=status,
        error=FAILURES.get(video.status),
        assets=(
            Asset(kind=kind, url=url, expires_at=None)
            for kind, url in (("video", video.url), ("image", video.cover_url))
            if url
        ),
        extensions={name: value for name, value in extras.items() if value is not None},
    )
