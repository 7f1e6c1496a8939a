"""What every provider's normalizer shares: the delivery context, unit conversions, event assembly.

Normalizers are pure functions `(validated payload, DeliveryContext) -> CanonicalEvent`; everything
they need from outside (which source, when it arrived, the delivery id a verifier read from the
headers) comes in the context, so that a fixture and its expected event are all a test needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from operator import attrgetter, lt
from typing import Any

from schemas.event import (
    SCHEMA_VERSION,
    Asset,
    CanonicalEvent,
    Error,
    OutOfRange,
    Segment,
    Status,
    TaskType,
    Usage,
    as_utc,
    event_id_for,
)


class UnknownStatus(ValueError):
    """The payload validated, but carries a status word no mapping knows: quarantine, never guess."""

    def __init__(self, provider: str, word: object) -> None:
        super().__init__(f"{provider} status {word!r} is not known to any mapping")
        self.word = word


class NoTask(ValueError):
    """The payload validated, but names no task (a notification without an id): quarantined as
    `unknown_task`, never published under a guessed id."""


@dataclass(frozen=True, slots=True)
class DeliveryContext:
    source: str
    provider: str
    received_at: datetime
    delivery_id: str | None = None
    # When a fetched or polled resource is normalized after a thin webhook: the webhook's own event,
    # for what only the webhook says (TwelveLabs: an error on `ready` means the result was cut short).
    notice: CanonicalEvent | None = None
    # The source's `api_base_url`, for links into the provider's API that a payload names only by id
    # (OpenAI's video content), so that normalizers stay pure.
    api_base_url: str | None = None


def map_status(provider: str, word: str, mapping: Mapping[str, Status]) -> Status:
    try:
        return mapping[word]
    except KeyError:
        raise UnknownStatus(provider, word) from None


def seconds_to_ms(seconds: float) -> int:
    try:
        return round(seconds * 1000)
    except OverflowError:  # near the largest float, milliseconds are infinite
        raise OutOfRange(f"{seconds!r} seconds is no finite number of milliseconds") from None


def utc_from_unix(seconds: float | None) -> datetime | None:
    """Unix seconds to an aware UTC datetime; a value above 1e12 is taken as milliseconds."""
    if seconds is None:
        return None
    if seconds > 1e12:
        seconds = seconds / 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise OutOfRange(f"the unix time {seconds!r} is not a date the event can carry") from None


def derived_expiry(completed_at: datetime | None, retention: timedelta) -> datetime | None:
    """When a provider that sends no expiry deletes an asset: its documented retention after completion."""
    if completed_at is None:
        return None
    try:
        return completed_at + retention
    except OverflowError:
        raise OutOfRange(f"{completed_at.isoformat()} + {retention} is beyond year 9999") from None


def total_tokens(input_tokens: int | None, output_tokens: int | None, total: int | None = None) -> int | None:
    if total is not None:
        return total
    if input_tokens is None or output_tokens is None:
        return None
    return input_tokens + output_tokens


_BY_TIME = attrgetter("start_ms", "end_ms")
_START = attrgetter("start_ms")


# PERF: segments already in order are checked, not sorted (bench/README.md, index: decode).
def sorted_segments(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    """By (start, end), stable. Providers mostly send them in order: strictly increasing starts are
    checked without a Python-level step per segment, and sorting (a key tuple per segment) skipped."""
    listed = segments if isinstance(segments, list) else list(segments)
    starts = list(map(_START, listed))
    if all(map(lt, starts, islice(starts, 1, None))):
        return tuple(listed)
    return tuple(sorted(listed, key=_BY_TIME))


def build_event(
    ctx: DeliveryContext,
    *,
    task_id: str,
    task_type: TaskType,
    status: Status,
    model: str | None = None,
    text: str | None = None,
    title: str | None = None,
    segments: Iterable[Segment] = (),
    usage: Usage | None = None,
    error: Error | None = None,
    truncated: bool = False,
    assets: Iterable[Asset] = (),
    occurred_at: datetime | None = None,
    delivery_id: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> CanonicalEvent:
    """Assemble the event; the identity fields come from the context, never from the payload."""
    return CanonicalEvent(
        event_id=event_id_for(ctx.source, task_id, status),
        schema_version=SCHEMA_VERSION,
        source=ctx.source,
        provider=ctx.provider,
        task_id=task_id,
        task_type=task_type,
        status=status,
        model=model,
        text=text,
        title=title,
        segments=sorted_segments(segments),
        usage=usage or Usage(),
        error=error,
        truncated=truncated,
        assets=tuple(assets),
        occurred_at=as_utc(occurred_at),
        received_at=as_utc(ctx.received_at),
        delivery_id=delivery_id if delivery_id is not None else ctx.delivery_id,
        extensions=dict(extensions or {}),
    )
