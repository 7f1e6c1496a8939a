"""One stream entry to one typed event: the version the event names picks the model.

An event of a version this package knows is validated by its generated model (`EventV1`, `EventV2`),
which keeps fields it does not know (`model_extra`): a receiver that adds a field breaks no
consumer. An event of a version it does not know (a receiver newer than the package) comes back as
`UnknownEvent`, the raw dict, instead of an error: the consumer decides to skip it, log it or read it
by hand, and updates the package when it wants the new shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from videohooks_events.v1 import EventV1
from videohooks_events.v2 import EventV2


class EntryError(ValueError):
    """The entry holds no event at all (no `event` field, or not a JSON object): not a videohooks
    event entry. A known version that fails validation raises pydantic's `ValidationError` instead."""


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """An event whose `schema_version` this package does not know; `data` is the event as published."""

    schema_version: Any
    data: dict[str, Any] = field(repr=False)

    @property
    def event_id(self) -> str | None:
        """Every version carries `event_id`, the key for idempotent handling, even one not known yet."""
        value = self.data.get("event_id")
        return value if isinstance(value, str) else None


Event = EventV1 | EventV2 | UnknownEvent

_MODELS: dict[int, type[EventV1] | type[EventV2]] = {1: EventV1, 2: EventV2}


def _text(value: bytes | str | memoryview) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    return value.decode() if isinstance(value, bytes) else value


def parse_event(data: str | bytes) -> Event:
    """The event JSON (the entry's `event` field) as a typed event."""
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise EntryError(f"the event field is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise EntryError(f"the event field is JSON {type(raw).__name__}, not an object")
    version = raw.get("schema_version")
    model = _MODELS.get(version) if type(version) is int else None
    if model is None:
        return UnknownEvent(version, raw)
    return model.model_validate(raw)


def parse_entry(fields: Mapping[bytes, bytes] | Mapping[str, str] | Mapping[Any, Any]) -> Event:
    """A stream entry's field map, as redis-py returns it (bytes, or str with `decode_responses`)."""
    for name, value in fields.items():
        if _text(name) == "event":
            return parse_event(_text(value))
    raise EntryError(f"the entry has no event field (fields: {sorted(_text(name) for name in fields)})")
