"""Runway task object, version 1 (API version 2024-11-06): `GET /v1/tasks/{id}`.

`{id, status, createdAt, progress?, output?: [url], failure?, failureCode?, cost?: {credits},
estimatedCost?: {credits}}`. No model (it is only known at submit time), no completion time.

Each `output` URL is an asset (kind from the URL's file extension: video unless it names an image or
audio file). The SDK says the URLs "expire within 24-48 hours" and names no expiry; Runway's URLs carry
a signed `_jwt` query parameter whose `exp` claim is the moment the CDN stops serving them: that is the
`expires_at` when it can be read (read, not verified: it is the provider's own statement about its
link), else the poll time (`ctx.received_at`) + 24 h (derived, the short end of the documented range).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from schemas.event import Asset, CanonicalEvent, Error, Status
from schemas.normalizing import DeliveryContext, build_event, derived_expiry, map_status, utc_from_unix

PROVIDER_ID = "runway"
LINK_LIFETIME = timedelta(hours=24)

STATUSES: dict[str, Status] = {
    "PENDING": "queued",
    "THROTTLED": "queued",
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "CANCELLED": "canceled",
}
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif"})
AUDIO_SUFFIXES = frozenset({".mp3", ".wav", ".m4a", ".aac", ".ogg", ".flac"})


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Cost(_Camel):
    # An int on final tasks, a float in the estimate before.
    credits: int | float | None = Field(default=None, ge=0)


class Task(_Camel):
    id: str = Field(min_length=1, max_length=256)
    status: str
    created_at: datetime | None = None
    progress: float | None = Field(default=None, ge=0, le=1)
    output: list[str] | None = None
    failure: str | None = None
    failure_code: str | None = None
    cost: Cost | None = None
    estimated_cost: Cost | None = None


def signed_expiry(url: str) -> datetime | None:
    """The `exp` claim of the URL's `_jwt` parameter, if it has a readable one."""
    tokens = parse_qs(urlsplit(url).query).get("_jwt")
    if not tokens:
        return None
    parts = tokens[0].split(".")
    if len(parts) != 3:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= 0:
        return None
    return utc_from_unix(exp)


def asset_kind(url: str) -> str:
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    return "video"


def _assets(payload: Task, ctx: DeliveryContext) -> tuple[Asset, ...]:
    fallback = derived_expiry(ctx.received_at, LINK_LIFETIME)
    return tuple(
        Asset(kind=asset_kind(url), url=url, expires_at=signed_expiry(url) or fallback)
        for url in payload.output or ()
    )


def normalize(payload: Task, ctx: DeliveryContext) -> CanonicalEvent:
    status = map_status(PROVIDER_ID, payload.status, STATUSES)
    error = None
    if status == "failed":
        error = Error(code=payload.failure_code, message=payload.failure or "Runway reported the task failed")
    extras: dict[str, Any] = {
        "progress": payload.progress,
        "credits": payload.cost.credits if payload.cost else None,
        "estimated_credits": payload.estimated_cost.credits if payload.estimated_cost else None,
    }
    return build_event(
        ctx,
        task_id=payload.id,
        task_type="generation",
        status=status,
        error=error,
        assets=_assets(payload, ctx) if status == "succeeded" else (),
        # The task's only time: when it was submitted.
        occurred_at=payload.created_at,
        extensions={name: value for name, value in extras.items() if value is not None},
    )
