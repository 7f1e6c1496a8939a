"""Reading the events streams back, newest first: `GET /v1/events` and the console's pages.

Events live in one stream per partition; each entry carries the event JSON and the fields a reader
filters on (`source`, `provider`, `task_id`, `status`), so that filtering never parses JSON. Each
partition is read backwards in pages and the partitions' newest matches are merged by entry id (the
ids are publish times in ms). A read looks at no more than `max_scan` entries per partition, so that a
filter matching nothing costs a bounded number of round trips, not a walk through the whole history.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, get_args

import orjson

from receiver.foundation.errors import VideohooksError
from receiver.foundation.keys import AnyRedis, KeySpace, as_text, entry_id_order
from schemas.event import Status

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Entries read per XREVRANGE call, and the most one read looks at in each partition.
PAGE = 500
MAX_SCAN = 10_000

STATUSES: tuple[str, ...] = get_args(Status)
FILTERS = ("source", "provider", "status", "task_id")


class InvalidQuery(VideohooksError):
    """A query parameter out of its range: the read API answers 400 with this code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One entry of an events stream, with the event JSON as it was published."""

    entry_id: str
    source: str
    provider: str
    task_id: str
    status: str
    raw: bytes

    @property
    def published_ms(self) -> int:
        """When the entry was appended: the millisecond part of its id, set by Redis."""
        return entry_id_order(self.entry_id)[0]

    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.raw)
        return parsed


def stored_event(entry_id: Any, fields: Mapping[Any, Any]) -> StoredEvent:
    named = {as_text(name): value for name, value in fields.items()}
    return StoredEvent(
        entry_id=as_text(entry_id),
        source=as_text(named.get("source", "")),
        provider=as_text(named.get("provider", "")),
        task_id=as_text(named.get("task_id", "")),
        status=as_text(named.get("status", "")),
        raw=bytes(named.get("event", b"{}")),
    )


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Exact-match filters (None: any) and how many events to return."""

    source: str | None = None
    provider: str | None = None
    status: str | None = None
    task_id: str | None = None
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> EventQuery:
        """The query string of `GET /v1/events`; an empty value means no filter. Raises InvalidQuery."""
        # An empty `limit=` is no number: refused (the document says so), not read as the default.
        limit_text = params.get("limit", str(DEFAULT_LIMIT))
        if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= MAX_LIMIT:
            raise InvalidQuery("invalid_limit", f"limit must be an integer from 1 to {MAX_LIMIT}")
        status = params.get("status") or None
        if status is not None and status not in STATUSES:
            raise InvalidQuery("invalid_status", f"status must be one of {', '.join(STATUSES)}")
        return cls(
            source=params.get("source") or None,
            provider=params.get("provider") or None,
            status=status,
            task_id=params.get("task_id") or None,
            limit=int(limit_text),
        )

    def matches(self, entry: StoredEvent) -> bool:
        return (
            (self.source is None or entry.source == self.source)
            and (self.provider is None or entry.provider == self.provider)
            and (self.status is None or entry.status == self.status)
            and (self.task_id is None or entry.task_id == self.task_id)
        )


async def newest_entries(
    redis: AnyRedis, stream: str, max_scan: int = MAX_SCAN, since_ms: int | None = None
) -> AsyncGenerator[StoredEvent]:
    """The entries of one stream, newest first, at most `max_scan`, none older than `since_ms`."""
    upper = "+"
    lower = "-" if since_ms is None else str(since_ms)
    scanned = 0
    while scanned < max_scan:
        page = await redis.xrevrange(stream, max=upper, min=lower, count=min(PAGE, max_scan - scanned))
        if not page:
            return
        for entry_id, fields in page:
            yield stored_event(entry_id, fields or {})
        scanned += len(page)
        upper = f"({as_text(page[-1][0])}"


async def latest_events(
    redis: AnyRedis, keys: KeySpace, query: EventQuery, max_scan: int = MAX_SCAN
) -> list[StoredEvent]:
    """The newest `query.limit` events matching `query`, across partitions, newest first."""
    found: list[StoredEvent] = []
    for stream in keys.all_events():
        matches = 0
        async with aclosing(newest_entries(redis, stream, max_scan)) as entries:
            async for entry in entries:
                if query.matches(entry):
                    found.append(entry)
                    matches += 1
                    if matches == query.limit:
                        break
    found.sort(key=lambda entry: entry_id_order(entry.entry_id), reverse=True)
    return found[: query.limit]
