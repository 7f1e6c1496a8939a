"""A relay's video object, version 1: OpenAI's video object, read leniently.

Relays differ from OpenAI and from each other in small ways, all absorbed here so that one normalizer
(OpenAI's) serves both: `created_at` in seconds or milliseconds (above 1e12 is milliseconds, which
`utc_from_unix` handles), `seconds` a string or a number, `size` an aspect ratio ("16:9"), `progress`
absent, `object` absent or `video.generation`, and a legacy `task_id` that duplicates (or, in older
relays, replaces) `id`. Forks of the popular relay servers also send `created_at`/`completed_at` as
RFC 3339 strings, and the result's own URL in `metadata.url`, `video_url` or `output.video_url`: where
a relay names one, that URL is the event's video asset instead of the relay's `/content` route.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator, model_validator

from schemas.event import Asset, CanonicalEvent
from schemas.normalizing import DeliveryContext
from schemas.openai.v1 import Video, normalize_video

TIMES = ("created_at", "completed_at", "expires_at")


def _result_url(data: dict[str, Any]) -> Any:
    """The first place a relay names the finished video's URL in, if any."""
    for holder, key in (
        (data.get("metadata"), "url"),
        (data, "video_url"),
        (data.get("output"), "video_url"),
    ):
        if isinstance(holder, dict) and holder.get(key):
            return holder[key]
    return None


class RelayVideo(Video):
    task_id: str | None = Field(default=None, min_length=1)
    result_url: str | None = Field(default=None, pattern=r"^https?://")

    @model_validator(mode="before")
    @classmethod
    def _relay_forms(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if not data.get("id") and data.get("task_id"):
            data["id"] = data["task_id"]
        for name in TIMES:
            if isinstance(data.get(name), str):
                # Left as it is when it is no date: the validation error then names the field.
                with suppress(ValueError):
                    data[name] = datetime.fromisoformat(data[name]).timestamp()
        data["result_url"] = _result_url(data)
        return data

    @field_validator("seconds", mode="before")
    @classmethod
    def _seconds_as_text(cls, value: Any) -> Any:
        """`6` and `"6"` are the same duration; the event carries OpenAI's string form."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"{value:g}"
        return value


def normalize(payload: RelayVideo, ctx: DeliveryContext) -> CanonicalEvent:
    """OpenAI's normalizer, with the relay's own result URL as the video where it names one."""
    event = normalize_video(payload, ctx)
    if payload.result_url is None or not event.assets:
        return event
    return replace(event, assets=(Asset(kind="video", url=payload.result_url, expires_at=None),))
