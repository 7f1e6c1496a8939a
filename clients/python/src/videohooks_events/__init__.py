"""Typed readers of the events videohooks publishes to Redis Streams.

    from videohooks_events import consume, parse_entry, EventV2, UnknownEvent

`parse_entry(fields)` turns a stream entry into `EventV1`, `EventV2` (pydantic models generated from
videohooks' published JSON Schemas, keeping fields they do not know) or `UnknownEvent` (the raw dict of
a `schema_version` this package does not know yet). `consume(...)` runs a consumer group over every
partition with reclaim, acknowledgement after the handler, and a poison stream. See README.md.
"""

from videohooks_events.consume import Delivery, Handler, consume, ensure_group, poison_stream
from videohooks_events.entries import EntryError, Event, UnknownEvent, parse_entry, parse_event
from videohooks_events.v1 import EventV1
from videohooks_events.v2 import EventV2

__all__ = [
    "Delivery",
    "EntryError",
    "Event",
    "EventV1",
    "EventV2",
    "Handler",
    "UnknownEvent",
    "consume",
    "ensure_group",
    "parse_entry",
    "parse_event",
    "poison_stream",
]
