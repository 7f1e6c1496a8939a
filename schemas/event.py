"""The canonical event, version 1: the one shape downstream consumers ever see.

Every provider's payload is flattened into this model by a pure normalizer. The field set is the
contract (`shared/CONTRACT.md`): every field is always present, unknown values are `null`, times are
integer milliseconds and timestamps are RFC 3339 in UTC. The JSON Schema exported from this model is
committed next to it (`event.v1.schema.json`) and a test keeps the two in step.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

SCHEMA_VERSION: Literal[1] = 1

Status = Literal["queued", "running", "succeeded", "failed", "canceled", "suspended"]
TaskType = Literal["description", "analysis", "generation", "indexing"]

TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "canceled"})

# Where a status stands in a task's life. A delivery whose rank is below the highest already
# published for its task (or any new status once a terminal one is published) would move the task
# backwards and is answered `stale`. `running` and `suspended` share a rank: a task may go either way.
STATUS_RANK: dict[str, int] = {
    "queued": 0,
    "running": 1,
    "suspended": 1,
    "succeeded": 2,
    "failed": 2,
    "canceled": 2,
}

# A fixed namespace makes `event_id` a pure function of (source, task_id, status), so every delivery
# of the same fact carries the same id wherever and whenever it is received.
_EVENT_NAMESPACE = uuid.UUID("6f1c3a52-4d0e-4b8e-9a57-1f3f0b6f7c21")


def event_id_for(source: str, task_id: str, status: str) -> str:
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{source}\x00{task_id}\x00{status}"))


def rfc3339(moment: datetime | None) -> str | None:
    """UTC, second precision or better, always with a `Z`: the one timestamp form consumers parse."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_serialization_defaults_required=True)


class Segment(_Frozen):
    start_ms: int
    end_ms: int
    text: str
    kind: str = Field(description="description, shot, caption, ...")


class Usage(_Frozen):
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    processing_ms: int | None = None


class Error(_Frozen):
    code: str | None
    message: str


class Asset(_Frozen):
    kind: str = Field(description="video, ...")
    url: str | None
    expires_at: datetime | None

    @field_serializer("expires_at")
    def _utc(self, value: datetime | None) -> str | None:
        return rfc3339(value)


class CanonicalEvent(_Frozen):
    """One event per (source, task, status)."""

    event_id: str
    schema_version: Literal[1] = SCHEMA_VERSION
    source: str
    provider: str
    task_id: str
    task_type: TaskType
    status: Status
    model: str | None
    text: str | None
    title: str | None
    segments: tuple[Segment, ...]
    usage: Usage
    error: Error | None
    truncated: bool
    assets: tuple[Asset, ...]
    occurred_at: datetime | None
    received_at: datetime
    delivery_id: str | None
    extensions: dict[str, Any]

    @field_serializer("occurred_at", "received_at")
    def _utc(self, value: datetime | None) -> str | None:
        return rfc3339(value)


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema of the event as it is serialized (timestamps as strings)."""
    schema = CanonicalEvent.model_json_schema(mode="serialization")
    schema["$id"] = "https://videohooks.dev/schemas/event.v1.schema.json"
    schema["title"] = "videohooks canonical event v1"
    return schema
