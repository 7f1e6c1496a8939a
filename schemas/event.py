"""The canonical event: the one shape downstream consumers ever see, in version 2 or version 1.

Every provider's payload is flattened into this shape by a pure normalizer. The field set is the
contract (the README's "The contract"): every field is always present, unknown values are `null`, times are
integer milliseconds and timestamps are RFC 3339 in UTC. The JSON Schema exported from these types is
committed next to them (`event.v1.schema.json`, `event.v2.schema.json`) and a test keeps them in step.

Version 2 is version 1 with four more fields in each asset, describing the stored copy the receiver
made of it (`receiver/assets`). One type holds both: `schema_version` says which shape the event is
published in, and a version 1 event is serialized without the four fields (`as_version`). Version 1
is thus a projection of version 2, never a second model to keep in step by hand.

The types are stdlib dataclasses (frozen, but for `Segment`) rather than pydantic models: the receiver
builds one event per delivery on its hot path, and plain dataclasses built by typed code and serialized
by orjson cost a fifth of a validated model. They have no `__slots__` on purpose: orjson serializes a
dataclass from its `__dict__` about six times faster than through slots (1.7 against 10 µs for 20
segments). Validation happens where data comes from outside: `event_from_json` (consumers, tests)
validates through pydantic, which also produces the JSON Schema.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, overload

import orjson
from pydantic import ConfigDict, Field, TypeAdapter, with_config

Version = Literal[1, 2]
SCHEMA_VERSION: Literal[2] = 2
VERSIONS: tuple[Version, ...] = (1, 2)
# The asset fields version 1 does not have.
V2_ASSET_FIELDS = ("source_url", "content_type", "bytes", "sha256")

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
_NAMESPACE_BYTES = _EVENT_NAMESPACE.bytes

_CONFIG = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


def event_id_for(source: str, task_id: str, status: str) -> str:
    """`uuid.uuid5(_EVENT_NAMESPACE, "source\\0task_id\\0status")` as text, built from the SHA-1 digest
    directly: the same string (RFC 4122 section 4.3) in a third of the time, as every delivery needs one."""
    raw = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + f"{source}\x00{task_id}\x00{status}".encode()).digest()[:16]
    )
    raw[6] = raw[6] & 0x0F | 0x50  # version 5
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    hex_ = raw.hex()
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


class OutOfRange(ValueError):
    """A validated value the event cannot carry (a time outside years 1 to 9999 once in UTC): the
    delivery is quarantined with `number_out_of_range`, as the gate does a number beyond 64 bits."""


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """Aware and in UTC (a naive time is taken as UTC), so that it serializes with a `Z`."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    if moment.utcoffset() == UTC.utcoffset(None):
        return moment
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise OutOfRange(f"the time {moment.isoformat()} is outside years 1 to 9999 in UTC") from None


def rfc3339(moment: datetime) -> str:
    """`2026-11-21T21:37:19.184913Z`: the one timestamp form in events and stream fields."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


@with_config(_CONFIG)
@dataclass
class Segment:
    """Not frozen, unlike the other types: an event holds dozens of segments, and a frozen dataclass
    costs four times as much to build (0.8 against 0.2 µs each). Build it once; never change it."""

    start_ms: int
    end_ms: int
    text: str
    kind: Annotated[str, Field(description="description, shot, caption, ...")]


@with_config(_CONFIG)
@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    processing_ms: int | None = None


@with_config(_CONFIG)
@dataclass(frozen=True)
class Error:
    code: str | None
    message: str


# What an asset of the version 1 event holds; version 2 adds the stored copy's details.
V1_ASSET_FIELDS = ("kind", "url", "expires_at")


@with_config(_CONFIG)
@dataclass(frozen=True)
class Asset:
    """A generated file: the provider's, or the receiver's stored copy of it (then with its sha256)."""

    kind: Annotated[str, Field(description="video, ...")]
    url: str | None  # the stored copy when copied, else the provider's URL
    expires_at: datetime | None  # the provider's expiry; null for a stored copy
    source_url: Annotated[str | None, Field(description="The provider's URL; null for inline media")] = None
    content_type: Annotated[str | None, Field(description="Of the stored copy")] = None
    bytes: Annotated[int | None, Field(ge=0, description="Size of the stored copy")] = None
    sha256: Annotated[
        str | None, Field(pattern="^[0-9a-f]{64}$", description="Of the stored copy, lowercase hex")
    ] = None

    # An asset without a sha256 is the provider's: its `source_url` is its `url`, filled in here so that
    # normalizers name the URL once. Inline media has no provider URL and is always a stored copy.
    def __post_init__(self) -> None:
        object.__setattr__(self, "expires_at", as_utc(self.expires_at))
        if self.sha256 is None and self.source_url is None:
            object.__setattr__(self, "source_url", self.url)

    def v1(self) -> dict[str, Any]:
        """This asset in the version 1 shape."""
        return {key: getattr(self, key) for key in V1_ASSET_FIELDS}


@with_config(_CONFIG)
@dataclass(frozen=True)
class CanonicalEvent:
    """One event per (source, task, status). Build it with `schemas.normalizing.build_event`."""

    event_id: str
    schema_version: Version
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
    extensions: dict[str, Any] = field(default_factory=dict)


_ADAPTER: TypeAdapter[CanonicalEvent] = TypeAdapter(CanonicalEvent)
_DUMP_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def as_version(event: CanonicalEvent, version: Version) -> CanonicalEvent:
    """The event to publish in `version`'s shape (`[events] version`); its `event_id` does not change.

    An event decoded in another process arrives without its segments but with its whole JSON (see
    `with_json`): its version 1 form is then made from that JSON, never from the fields it lacks.
    """
    if event.schema_version == version:
        return event
    shaped = replace(event, schema_version=version)
    cached: bytes | None = event.__dict__.get(_JSON_ATTRIBUTE)
    if cached is not None and version == 1:
        data = orjson.loads(cached)
        data["schema_version"] = 1
        data["assets"] = [
            {key: asset[key] for key in ("kind", "url", "expires_at")} for asset in data["assets"]
        ]
        with_json(shaped, orjson.dumps(data))
    return shaped


# The serialized event is kept on the event itself, under a name orjson skips (it leaves out attributes
# starting with "_") and that is not a field (so equality and repr ignore it). An event is built once
# and never changed, so the bytes stay true; `dataclasses.replace` (`as_version` too) makes a new event
# without them.
_JSON_ATTRIBUTE = "_json"


def event_to_json(event: CanonicalEvent) -> bytes:
    """The event as published, in the shape its `schema_version` names: compact JSON, timestamps RFC 3339
    with `Z`.

    Serialized once per event: decoding serializes it to refuse an event that cannot be written, and
    publishing (or deferring it to a fetch) takes the same bytes (bench/README.md, "Decode").
    """
    cached: bytes | None = event.__dict__.get(_JSON_ATTRIBUTE)
    if cached is None:
        if event.schema_version == 1 and event.assets:
            fields = {**event.__dict__, "assets": [asset.v1() for asset in event.assets]}
            cached = orjson.dumps(fields, option=_DUMP_OPTIONS)
        else:
            cached = orjson.dumps(event, option=_DUMP_OPTIONS)
        object.__setattr__(event, _JSON_ATTRIBUTE, cached)
    return cached


def with_json(summary: CanonicalEvent, data: bytes) -> CanonicalEvent:
    """`summary` (an event stripped of what is costly to pass between processes, its segments) carrying
    `data`, the whole event's JSON, as what `event_to_json` gives: for `receiver.core.offload` only."""
    object.__setattr__(summary, _JSON_ATTRIBUTE, data)
    return summary


def event_to_dict(event: CanonicalEvent) -> dict[str, Any]:
    """The event as JSON-compatible data (what `event_to_json` writes, parsed back)."""
    parsed: dict[str, Any] = orjson.loads(event_to_json(event))
    return parsed


def event_from_json(data: str | bytes) -> CanonicalEvent:
    """Parse and validate an event of either version read from a stream; raises pydantic's
    ValidationError. A version 1 event's assets have the four version 2 fields null (`source_url`
    its `url`): what a version 1 event cannot say."""
    return _ADAPTER.validate_json(data)


def event_json_schema(version: Version = SCHEMA_VERSION) -> dict[str, Any]:
    """The JSON Schema of the event as it is serialized in `version` (timestamps as strings).

    Both come from the one model: version 1's is version 2's without the four asset fields.
    """
    schema = _ADAPTER.json_schema(mode="serialization")
    schema["properties"]["schema_version"] = {"const": version, "title": "Schema Version", "type": "integer"}
    if version == 1:
        asset = schema["$defs"]["Asset"]
        del asset["description"]
        for name in V2_ASSET_FIELDS:
            del asset["properties"][name]
            asset["required"].remove(name)
    schema["$id"] = f"https://videohooks.dev/schemas/event.v{version}.schema.json"
    schema["title"] = f"videohooks canonical event v{version}"
    return schema
