"""The dead-letter streams: list, show and redrive quarantined deliveries.

A delivery is quarantined when it is authentic but no schema version accepts it. Once a version that
does ships, `redrive` runs each kept body through the CURRENT schemas (the pipeline's registry) with
its source and publishes what now decodes. Publishing deduplicates on (source, task, status), so a
redrive run twice, or racing another, publishes each event once.

What happens to a redriven entry: by default it stays in the dead-letter stream and is marked in a
hash next to it (`<dlq key>:redriven`, entry id -> outcome and event id), so that the record of what
arrived is kept and `--all` skips it next time; with `delete` it is removed (XDEL), but only after its
event is in the events stream. An entry that still fails to decode stays as it is: never copied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from receiver.config import Config
from receiver.flow.pipeline import Pipeline
from receiver.foundation.errors import Quarantine
from receiver.foundation.keys import AnyRedis, KeySpace, as_text, entry_id_order
from receiver.foundation.ordered import in_order

# Entries read per XRANGE call while listing or redriving.
PAGE = 200


@dataclass(frozen=True, slots=True)
class DeadLetter:
    stream: str
    partition: int
    entry_id: str
    source: str
    reason: str
    detail: str
    headers: dict[str, str]
    body: bytes
    received_at: str
    delivery_id: str | None
    redriven: str | None  # "accepted <event id>", ... once a redrive published it

    def summary(self) -> dict[str, Any]:
        """Everything but the body: what a listing shows."""
        return {
            "entry_id": self.entry_id,
            "stream": self.stream,
            "source": self.source,
            "reason": self.reason,
            "detail": self.detail,
            "received_at": self.received_at,
            "delivery_id": self.delivery_id,
            "size": len(self.body),
            "redriven": self.redriven,
        }

    def full(self) -> dict[str, Any]:
        """The summary, the kept headers and the body (as text when it is UTF-8, else hex)."""
        try:
            body: dict[str, str] = {"text": self.body.decode("utf-8")}
        except UnicodeDecodeError:
            body = {"hex": self.body.hex()}
        return {**self.summary(), "headers": self.headers, "body": body}


@dataclass(frozen=True, slots=True)
class RedriveResult:
    entry_id: str
    source: str
    outcome: str  # accepted | duplicate | stale | still_quarantined | unknown_source | not_found
    event_id: str | None = None
    detail: str | None = None


def _dead_letter(
    stream: str, partition: int, entry_id: Any, fields: Mapping[Any, Any], redriven: Any
) -> DeadLetter:
    named = {as_text(name): value for name, value in fields.items()}
    headers = orjson.loads(named.get("headers", b"{}"))
    delivery_id = named.get("delivery_id")
    return DeadLetter(
        stream=stream,
        partition=partition,
        entry_id=as_text(entry_id),
        source=as_text(named.get("source", "")),
        reason=as_text(named.get("reason", "")),
        detail=as_text(named.get("detail", "")),
        headers=headers if isinstance(headers, dict) else {},
        body=bytes(named.get("body", b"")),
        received_at=as_text(named.get("received_at", "")),
        delivery_id=None if delivery_id is None else as_text(delivery_id),
        redriven=None if redriven is None else as_text(redriven),
    )


# Dead letters whose body no scheme proved authentic (a signature form the receiver cannot check, a
# notification naming a task the provider's API does not know): kept for an operator to see, never
# redriven into the events stream.
UNPROVEN_REASONS = frozenset({"unverified_signature", "unknown_task"})


class DeadLetters:
    """The dead-letter streams of every partition, read and redriven as one."""

    def __init__(self, redis: AnyRedis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    async def _page(self, partition: int, after: str, count: int) -> list[DeadLetter]:
        stream = self._keys.dlq(partition)
        entries = await self._redis.xrange(stream, min=after, count=count)
        if not entries:
            return []
        marks = await self._redis.hmget(
            self._keys.dlq_redriven(partition), [as_text(entry_id) for entry_id, _ in entries]
        )
        return [
            _dead_letter(stream, partition, entry_id, fields or {}, mark)
            for (entry_id, fields), mark in zip(entries, marks, strict=True)
        ]

    async def scan(self, source: str | None = None, limit: int | None = None) -> list[DeadLetter]:
        """Entries (of one source, if given), oldest first within each partition, at most `limit` each."""
        found: list[DeadLetter] = []
        for partition in range(self._keys.partitions):
            matches: list[DeadLetter] = []
            after = "-"
            while (limit is None or len(matches) < limit) and (
                page := await self._page(partition, after, PAGE)
            ):
                matches += [letter for letter in page if source is None or letter.source == source]
                after = f"({page[-1].entry_id}"
            found += matches[:limit]
        return found

    async def oldest(self, limit: int, source: str | None = None) -> list[DeadLetter]:
        """The oldest `limit` entries across partitions, by entry id (arrival time)."""
        letters = sorted(await self.scan(source, limit), key=lambda letter: entry_id_order(letter.entry_id))
        return letters[:limit]

    async def get(self, entry_id: str) -> DeadLetter | None:
        if not _is_entry_id(entry_id):
            return None
        for partition in range(self._keys.partitions):
            page = await self._page(partition, entry_id, 1)
            if page and page[0].entry_id == entry_id:
                return page[0]
        return None

    async def redrive(
        self, config: Config, pipeline: Pipeline, entry_ids: Iterable[str] | None, delete: bool
    ) -> list[RedriveResult]:
        """Redrive the named entries, or (None) every entry not redriven yet."""
        if entry_ids is None:
            letters: list[DeadLetter | RedriveResult] = [
                letter for letter in await self.scan() if letter.redriven is None
            ]
        else:
            letters = [
                await self.get(entry_id) or RedriveResult(entry_id, "", "not_found", detail="no such entry")
                for entry_id in entry_ids
            ]

        async def redrive_one(_index: int, letter: DeadLetter | RedriveResult) -> RedriveResult:
            if isinstance(letter, RedriveResult):
                return letter
            return await self._redrive_one(config, pipeline, letter, delete)

        return await in_order(letters, redrive_one)

    async def _redrive_one(
        self, config: Config, pipeline: Pipeline, letter: DeadLetter, delete: bool
    ) -> RedriveResult:
        if letter.reason in UNPROVEN_REASONS:
            detail = (
                f"{letter.reason}: the body was never proven to be the provider's, so it is not published"
            )
            return RedriveResult(letter.entry_id, letter.source, "not_redrivable", detail=detail)
        source = config.source(letter.source)
        if source is None:
            detail = f"source {letter.source!r} is no longer configured"
            return RedriveResult(letter.entry_id, letter.source, "unknown_source", detail=detail)
        try:
            event = pipeline.decode_delivery(source, letter.body, _received_at(letter), letter.delivery_id)
        except Quarantine as still:
            return RedriveResult(letter.entry_id, source.id, "still_quarantined", detail=still.detail)
        outcome = await pipeline.settle(source, event, letter.headers, letter.body)
        if delete:
            await self._redis.xdel(letter.stream, letter.entry_id)
            await self._redis.hdel(self._keys.dlq_redriven(letter.partition), letter.entry_id)
        else:
            await self._redis.hset(
                self._keys.dlq_redriven(letter.partition),
                letter.entry_id,
                f"{outcome.status} {event.event_id}",
            )
        return RedriveResult(letter.entry_id, source.id, outcome.status, event.event_id)


def _is_entry_id(text: str) -> bool:
    millis, dash, sequence = text.partition("-")
    return millis.isascii() and millis.isdigit() and (not dash or (sequence.isascii() and sequence.isdigit()))


def _received_at(letter: DeadLetter) -> datetime:
    """The original arrival time, so that the redriven event says when it really arrived."""
    try:
        return datetime.fromisoformat(letter.received_at)
    except ValueError:
        return datetime.fromtimestamp(entry_id_order(letter.entry_id)[0] / 1000, tz=UTC)
