"""Luma Dream Machine generation, version 1: the Generation object.

Luma posts the whole object to the generation's `callback_url` on every change (`dreaming`, `completed`,
`failed`), and `GET /dream-machine/v1/generations/{id}` returns the same object, so one model serves
both. Every field is optional in Luma's own SDK; the receiver needs `id` (the task) and a `state`.

- `state`: `queued`, `dreaming`, `completed`, `failed`; any other word is quarantined.
- `assets.video` (MP4) is a `video` asset, `assets.image` (the thumbnail of a video, the result of an
  image generation) an `image`, `assets.progress_video` a `progress_video`. Luma documents no expiry
  of its asset URLs: `expires_at` is null.
- The object has `created_at` (ISO 8601) and nothing that says when its state changed: `occurred_at`
  is null, and `created_at` is kept in `extensions`.
- `request` (what the generation was created with) is kept in `extensions` without its
  `callback_url`, which carries the receiver's URL token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, JsonValue

from schemas.event import Asset, CanonicalEvent, Error, Status, rfc3339
from schemas.normalizing import DeliveryContext, UnknownStatus, build_event, map_status

STATES: dict[str, Status] = {
    "queued": "queued",
    "dreaming": "running",
    "completed": "succeeded",
    "failed": "failed",
}
NO_REASON = "Luma reported the generation failed without a failure_reason"


class Assets(BaseModel):
    video: str | None = None
    image: str | None = None
    progress_video: str | None = None


class Generation(BaseModel):
    # The task id becomes part of Redis key names: a bound keeps a hostile one from bloating them.
    id: str = Field(min_length=1, max_length=256)
    # Open: mapped through STATES; absent or unknown is quarantined.
    state: str | None = None
    generation_type: str | None = None
    model: str | None = None
    failure_reason: str | None = None
    created_at: datetime | None = None
    assets: Assets | None = None
    request: dict[str, JsonValue] | None = None


def normalize(payload: Generation, ctx: DeliveryContext) -> CanonicalEvent:
    if payload.state is None:
        raise UnknownStatus(ctx.provider, None)
    status = map_status(ctx.provider, payload.state, STATES)
    error = None
    if status == "failed":
        error = Error(code=None, message=payload.failure_reason or NO_REASON)
    assets = payload.assets or Assets()
    request = {name: value for name, value in (payload.request or {}).items() if name != "callback_url"}
    requested_model = request.get("model")
    extras: dict[str, Any] = {
        "generation_type": payload.generation_type,
        "created_at": rfc3339(payload.created_at) if payload.created_at else None,
        # A reason on a state other than failed is Luma's note on that state: kept, not an error.
        "failure_reason": payload.failure_reason if status != "failed" else None,
        "request": request or None,
    }
    return build_event(
        ctx,
        task_id=payload.id,
        task_type="generation",
        status=status,
        model=payload.model or (requested_model if isinstance(requested_model, str) else None),
        error=error,
        assets=(
            Asset(kind=kind, url=url, expires_at=None)
            for kind, url in (
                ("video", assets.video),
                ("image", assets.image),
                ("progress_video", assets.progress_video),
            )
            if url
        ),
        extensions={name: value for name, value in extras.items() if value is not None},
    )
