"""A relay's video object, version 1: OpenAI's video object, read leniently.

Relays differ from OpenAI and from each other in small ways, all absorbed here so that one normalizer
(OpenAI's) serves both: `created_at` in seconds or milliseconds (above 1e12 is milliseconds, which
`utc_from_unix` handles), `seconds` a string or a number, `size` an aspect ratio ("16:9"), `progress`
absent, `object` absent, and a legacy `task_id` that duplicates (or, in older relays, replaces) `id`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from schemas.openai.v1 import Video, normalize_video

normalize = normalize_video


class RelayVideo(Video):
    task_id: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _id_from_task_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("id") and data.get("task_id"):
            return {**data, "id": data["task_id"]}
        return data

    @field_validator("seconds", mode="before")
    @classmethod
    def _seconds_as_text(cls, value: Any) -> Any:
        """`6` and `"6"` are the same duration; the event carries OpenAI's string form."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"{value:g}"
        return value
