"""Replicate predictions, version 1: the prediction object, pushed (`webhook`) or polled alike.

`output` is whatever the model returns: a URL, a list of URLs, an object of URLs (nested), or text
(a string or a list of string chunks). Every http(s) URL in it is an asset, its kind read from the
file extension; a `data:` URI (inline media) is an `inline:<JSON pointer>` asset, never copied into
the event; strings that are neither are the prediction's text. Replicate deletes inputs, outputs and
logs one hour after the prediction completes and gives no expiry, so every asset's `expires_at` is
derived: `completed_at` + 1 h (null while the prediction runs).

`aborted` (the deadline passed before the prediction started) is published as `canceled` with the
word kept in `extensions.provider_status` and as the error code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from schemas.event import Asset, CanonicalEvent, Error, Status, Usage
from schemas.normalizing import (
    DeliveryContext,
    build_event,
    derived_expiry,
    map_status,
    seconds_to_ms,
    total_tokens,
)

RETENTION = timedelta(hours=1)
STATUSES: dict[str, Status] = {
    "starting": "queued",
    "processing": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
    "aborted": "canceled",
}
# Provider words the canonical status does not say by itself.
KEPT_WORDS = frozenset({"aborted"})
ABORTED_MESSAGE = "the prediction's deadline passed before it started (aborted)"
FAILED_MESSAGE = "the prediction failed without an error message"

_KINDS = {
    "video": (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".gifv"),
    "image": (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif", ".heic"),
    "audio": (".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".opus"),
    "text": (".txt", ".json", ".srt", ".vtt", ".csv"),
    "model": (".glb", ".gltf", ".obj", ".ply", ".usdz"),
}
KIND_BY_EXTENSION = {extension: kind for kind, extensions in _KINDS.items() for extension in extensions}


class Metrics(BaseModel):
    predict_time: float | None = Field(default=None, ge=0)
    total_time: float | None = Field(default=None, ge=0)
    # Language models' predictions count tokens too.
    input_token_count: int | None = Field(default=None, ge=0)
    output_token_count: int | None = Field(default=None, ge=0)


class Prediction(BaseModel):
    id: str = Field(min_length=1)
    # Open: mapped through STATUSES, an unknown word is quarantined.
    status: str
    model: str | None = None
    version: str | None = None
    output: Any = None
    error: str | None = None
    data_removed: bool | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    metrics: Metrics | None = None


def kind_of(url: str) -> str:
    """An http(s) URL's asset kind from its path's extension; `file` when the extension says nothing."""
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return KIND_BY_EXTENSION.get(path[dot:], "file") if dot > path.rfind("/") else "file"


def _pointer_token(key: str | int) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _strings(value: Any, pointer: str) -> Iterator[tuple[str, str]]:
    """Every string of `output` with its RFC 6901 pointer from the prediction's root, in order."""
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{pointer}/{index}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{pointer}/{_pointer_token(key)}")


def read_output(output: Any, expires_at: datetime | None) -> tuple[list[Asset], str | None]:
    """The assets and the text of a prediction's `output`."""
    assets: list[Asset] = []
    text: list[str] = []
    for pointer, value in _strings(output, "/output"):
        if value.startswith(("https://", "http://")):
            assets.append(Asset(kind=kind_of(value), url=value, expires_at=expires_at))
        elif value.startswith("data:"):
            mime = value[5:].partition(";")[0].partition(",")[0]
            assets.append(
                Asset(kind=mime.partition("/")[0] or "file", url=f"inline:{pointer}", expires_at=None)
            )
        else:
            text.append(value)
    return assets, "".join(text) if text else None


def normalize(payload: Prediction, ctx: DeliveryContext) -> CanonicalEvent:
    status = map_status("replicate", payload.status, STATUSES)
    expires_at = derived_expiry(payload.completed_at, RETENTION)
    assets, text = read_output(payload.output, expires_at)
    error = None
    if payload.status == "aborted":
        error = Error(code="aborted", message=payload.error or ABORTED_MESSAGE)
    elif payload.error is not None:
        error = Error(code=None, message=payload.error)
    elif status == "failed":
        error = Error(code=None, message=FAILED_MESSAGE)
    metrics = payload.metrics or Metrics()
    extras: dict[str, Any] = {
        "provider_status": payload.status if payload.status in KEPT_WORDS else None,
        "version": payload.version,
        "data_removed": payload.data_removed,
        "total_time_ms": None if metrics.total_time is None else seconds_to_ms(metrics.total_time),
    }
    return build_event(
        ctx,
        task_id=payload.id,
        task_type="generation",
        status=status,
        model=payload.model,
        text=text,
        usage=Usage(
            input_tokens=metrics.input_token_count,
            output_tokens=metrics.output_token_count,
            total_tokens=total_tokens(metrics.input_token_count, metrics.output_token_count),
            processing_ms=None if metrics.predict_time is None else seconds_to_ms(metrics.predict_time),
        ),
        error=error,
        assets=assets,
        occurred_at=payload.completed_at or payload.started_at or payload.created_at,
        extensions={name: value for name, value in extras.items() if value is not None},
    )
