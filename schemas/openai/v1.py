"""OpenAI Videos API, version 1: the webhook envelope and the video object (`GET /v1/videos/{id}`).

The webhook is thin: `{"id": "evt_...", "object": "event", "created_at": <unix s>, "type": "video.completed" |
"video.failed", "data": {"id": "video_..."}}`. Its delivery id is the Standard Webhooks `webhook-id` the
verifier read (stable across retries); the envelope `id` stands in only where no header carried one.

The video object carries the result: status, model, error, progress, size, seconds (a string), prompt and
the expiry of its content, which is served (authenticated) at `<api base>/v1/videos/{id}/content`. The
normalizer is pure, so that base comes from `ctx.api_base_url` (the source's `api_base_url`); without
one the asset is listed with a null URL rather than a guessed host.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from schemas.event import Asset, CanonicalEvent, Error, Status
from schemas.normalizing import DeliveryContext, build_event, map_status, utc_from_unix

# The error of a thin `video.failed` published without a fetch: the webhook says nothing more.
THIN_FAILURE = "the video failed; the webhook says no more (fetch it for the error)"
WEBHOOK_STATUSES: dict[str, Status] = {"video.completed": "succeeded", "video.failed": "failed"}
VIDEO_STATUSES: dict[str, Status] = {
    "queued": "queued",
    "in_progress": "running",
    "completed": "succeeded",
    "failed": "failed",
}


class WebhookData(BaseModel):
    id: str = Field(min_length=1)


class Webhook(BaseModel):
    id: str = Field(min_length=1)
    created_at: int = Field(ge=0)
    # Open: OpenAI adds event types; one no mapping knows is quarantined as `unknown_status`.
    type: str
    data: WebhookData


def normalize(payload: Webhook, ctx: DeliveryContext) -> CanonicalEvent:
    """The thin event: what the webhook alone says (published as is only when nothing is fetched).

    A failed event always carries an error: the webhook says only that the video failed.
    """
    status = map_status("openai", payload.type, WEBHOOK_STATUSES)
    error = None
    if status == "failed":
        error = Error(code=None, message=THIN_FAILURE)
    return build_event(
        ctx,
        task_id=payload.data.id,
        task_type="generation",
        status=status,
        error=error,
        occurred_at=utc_from_unix(payload.created_at),
        delivery_id=ctx.delivery_id or payload.id,
    )


class VideoError(BaseModel):
    code: str | None = None
    message: str
    # OpenAI's error objects also say which kind of error and which request parameter it concerns.
    type: str | None = None
    param: str | None = None


class Video(BaseModel):
    id: str = Field(min_length=1)
    model: str | None = None
    # Open: mapped through VIDEO_STATUSES, an unknown word is quarantined.
    status: str
    progress: int | None = Field(default=None, ge=0, le=100)
    created_at: float | None = Field(default=None, ge=0)
    completed_at: float | None = Field(default=None, ge=0)
    expires_at: float | None = Field(default=None, ge=0)
    prompt: str | None = None
    seconds: str | None = None
    size: str | None = None
    remixed_from_video_id: str | None = None
    error: VideoError | None = None


def normalize_video(payload: Video, ctx: DeliveryContext) -> CanonicalEvent:
    """The full event of a fetched or polled video; relays' lenient variant shares it."""
    status = map_status(ctx.provider, payload.status, VIDEO_STATUSES)
    error = None
    if payload.error is not None:
        error = Error(code=payload.error.code, message=payload.error.message)
    elif status == "failed":
        error = Error(code=None, message="the provider reported the video failed without an error message")
    assets: tuple[Asset, ...] = ()
    if status == "succeeded":
        url = f"{ctx.api_base_url}/v1/videos/{payload.id}/content" if ctx.api_base_url else None
        assets = (Asset(kind="video", url=url, expires_at=utc_from_unix(payload.expires_at)),)
    extras: dict[str, Any] = {
        "error_type": payload.error.type if payload.error else None,
        "error_param": payload.error.param if payload.error else None,
        "size": payload.size,
        "seconds": payload.seconds,
        "progress": payload.progress,
        "prompt": payload.prompt,
        "remixed_from_video_id": payload.remixed_from_video_id,
    }
    return build_event(
        ctx,
        task_id=payload.id,
        task_type="generation",
        status=status,
        model=payload.model,
        error=error,
        assets=assets,
        occurred_at=utc_from_unix(payload.completed_at or payload.created_at),
        extensions={name: value for name, value in extras.items() if value is not None},
    )
