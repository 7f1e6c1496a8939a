"""OpenRouter video jobs, version 1: the terminal-state webhook and the job (`GET /api/v1/videos/{id}`).

The webhook is `{type: "video.generation.<status>", created_at: <ISO ms>, data: <job summary>}`, one per
terminal state; the job summary and the polled job share their fields (`id`, `status`,
`generation_id`, `unsigned_urls`, `urls`, `expires_at`, `usage{cost, is_byok}`, `error`; the
webhook adds `model`, which the poll lacks).

Media: `urls[i]` are signed links that need no key, valid until `expires_at` (unix seconds); where the
job has them they are the assets. Otherwise (webhooks carry only these) the assets are
`unsigned_urls[i]` (`/api/v1/videos/{id}/content?index=i`), which need the API key as a Bearer
token: `extensions.assets_need_api_key` says so. `unsigned_urls` are kept in extensions either way.

`expired` is a failure whose reason is the provider's word (`error.code` and
`extensions.provider_status`). The delivery id is `X-OpenRouter-Idempotency-Key`, documented as
`<job id>-<status>`: where no header carried it (an unsigned source), that same value is used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from schemas.event import Asset, CanonicalEvent, Error, Status
from schemas.normalizing import DeliveryContext, build_event, map_status, utc_from_unix

STATUSES: dict[str, Status] = {
    "pending": "queued",
    "in_progress": "running",
    "completed": "succeeded",
    "failed": "failed",
    "cancelled": "canceled",
    "expired": "failed",
}
# Provider words kept as the failure reason, since the canonical status alone loses them.
KEPT_WORDS = frozenset({"expired"})


class Usage(BaseModel):
    cost: float | None = None
    is_byok: bool | None = None


class VideoJob(BaseModel):
    id: str = Field(min_length=1)
    # Open: an unknown word is quarantined.
    status: str
    generation_id: str | None = None
    model: str | None = None
    unsigned_urls: list[str] | None = None
    urls: list[str] | None = None
    expires_at: float | None = Field(default=None, ge=0)
    usage: Usage | None = None
    error: str | None = None


class Webhook(BaseModel):
    type: str = Field(pattern=r"^video\.generation\.")
    created_at: datetime | None = None
    data: VideoJob


def _event(
    job: VideoJob, ctx: DeliveryContext, occurred_at: datetime | None, delivery_id: str | None
) -> CanonicalEvent:
    status = map_status("openrouter", job.status, STATUSES)
    error = None
    if status == "failed":
        code = job.status if job.status in KEPT_WORDS else None
        error = Error(code=code, message=job.error or f"the video job is {job.status}")
    elif job.error:
        error = Error(code=None, message=job.error)
    expires_at = utc_from_unix(job.expires_at)
    assets: tuple[Asset, ...] = ()
    need_key = False
    if status == "succeeded":
        if job.urls:
            assets = tuple(Asset(kind="video", url=url, expires_at=expires_at) for url in job.urls)
        elif job.unsigned_urls:
            assets = tuple(Asset(kind="video", url=url, expires_at=expires_at) for url in job.unsigned_urls)
            need_key = True
    extras: dict[str, Any] = {
        "provider_status": job.status if job.status in KEPT_WORDS else None,
        "generation_id": job.generation_id,
        "cost": job.usage.cost if job.usage else None,
        "is_byok": job.usage.is_byok if job.usage else None,
        "unsigned_urls": job.unsigned_urls or None,
        "assets_need_api_key": need_key or None,
    }
    return build_event(
        ctx,
        task_id=job.id,
        task_type="generation",
        status=status,
        model=job.model,
        error=error,
        assets=assets,
        occurred_at=occurred_at,
        delivery_id=delivery_id,
        extensions={name: value for name, value in extras.items() if value is not None},
    )


def normalize(payload: Webhook, ctx: DeliveryContext) -> CanonicalEvent:
    job = payload.data
    return _event(job, ctx, payload.created_at, ctx.delivery_id or f"{job.id}-{job.status}")


def normalize_job(payload: VideoJob, ctx: DeliveryContext) -> CanonicalEvent:
    """A polled or fetched job: the delivery id is the notifying webhook's, if any (ctx)."""
    return _event(payload, ctx, None, ctx.delivery_id)
