"""The dead-letter streams: list, show and redrive quarantined deliveries.

A delivery is quarantined when it is authentic but no schema version accepts it. Once a version that
does ships (or the limit that refused it is raised, or a store is configured for its inline media),
`redrive` runs each kept body through the CURRENT schemas (the pipeline's registry) of its kind (a
callback, or a task object the API answered) with its source, and takes the steps a fresh delivery of
that kind would: inline media stored, assets copied, a fetch where the provider needs one. A body kept
without its inline media cannot give that media back: its task is fetched again (watched at once).
Publishing deduplicates on (source, task, status), so a redrive run twice, or racing another,
publishes each event once; a complete result supersedes an incomplete event once.

What happens to a redriven entry: by default it stays in the dead-letter stream and is marked in a
hash next to it (`<dlq key>:redriven`, entry id -> outcome and event id), so that the record of what
arrived is kept and `--all` skips it next time; with `delete` it is removed (XDEL), but only after its
event is in the events stream. An entry that still fails to decode stays as it is: never copied.

How an entry is named: each partition's stream numbers its entries on its own clock, so two
partitions can hold the same stream id (two deliveries quarantined in the same millisecond). With
more than one partition an entry is therefore named `<stream id>@<partition>`; a bare stream id is
still accepted where exactly one partition holds it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from receiver.config import Config
from receiver.core.delivery import PROVENANCES, Delivery, Kind, Provenance
from receiver.core.jobs import JobQueue
from receiver.flow.pipeline import Outcome, Pipeline
from receiver.flow.poll import unwatchable, watch
from receiver.foundation.errors import ErrorAnswer, Quarantine
from receiver.foundation.keys import AnyRedis, KeySpace, as_text, entry_id_order
from receiver.foundation.ordered import in_order
from receiver.sources import SourceConfig
from schemas.event import CanonicalEvent

# Entries read per XRANGE call while listing or redriving.
PAGE = 200


@dataclass(frozen=True, slots=True)
class DeadLetter:
    stream: str
    partition: int
    entry_id: str  # what the entry is named by: `stream_id`, with `@<partition>` when there are several
    stream_id: str  # the id within its stream
    source: str
    reason: str
    detail: str
    headers: dict[str, str]
    body: bytes
    received_at: str
    delivery_id: str | None
    redriven: str | None  # "accepted <event id>", ... once a redrive published it
    kind: Kind = "callback"  # entries kept before kinds were recorded were all callbacks
    provenance: Provenance = "signed"
    media_omitted: bool = False  # the body was kept without its inline media

    def summary(self) -> dict[str, Any]:
        """Everything but the body: what a listing shows."""
        return {
            "entry_id": self.entry_id,
            "stream": self.stream,
            "stream_id": self.stream_id,
            "source": self.source,
            "reason": self.reason,
            "detail": self.detail,
            "received_at": self.received_at,
            "delivery_id": self.delivery_id,
            "kind": self.kind,
            "provenance": self.provenance,
            "media_omitted": self.media_omitted,
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
    # accepted | duplicate | stale | fetching | still_quarantined | unknown_source | not_found |
    # not_redrivable
    outcome: str
    event_id: str | None = None
    detail: str | None = None


def _dead_letter(
    keys: KeySpace, partition: int, stream_id: Any, fields: Mapping[Any, Any], redriven: Any
) -> DeadLetter:
    named = {as_text(name): value for name, value in fields.items()}
    in_stream = as_text(stream_id)
    headers = orjson.loads(named.get("headers", b"{}"))
    delivery_id = named.get("delivery_id")
    kind = as_text(named.get("kind", "callback"))
    provenance = as_text(named.get("provenance", "signed"))
    return DeadLetter(
        stream=keys.dlq(partition),
        partition=partition,
        entry_id=keys.dead_letter_id(partition, in_stream),
        stream_id=in_stream,
        source=as_text(named.get("source", "")),
        reason=as_text(named.get("reason", "")),
        detail=as_text(named.get("detail", "")),
        headers=headers if isinstance(headers, dict) else {},
        body=bytes(named.get("body", b"")),
        received_at=as_text(named.get("received_at", "")),
        delivery_id=None if delivery_id is None else as_text(delivery_id),
        redriven=None if redriven is None else as_text(redriven),
        kind="resource" if kind == "resource" else "callback",
        provenance=next((known for known in PROVENANCES if known == provenance), "signed"),
        media_omitted="media_omitted" in named,
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
        entries = await self._redis.xrange(self._keys.dlq(partition), min=after, count=count)
        if not entries:
            return []
        marks = await self._redis.hmget(
            self._keys.dlq_redriven(partition), [as_text(stream_id) for stream_id, _ in entries]
        )
        return [
            _dead_letter(self._keys, partition, stream_id, fields or {}, mark)
            for (stream_id, fields), mark in zip(entries, marks, strict=True)
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
                after = f"({page[-1].stream_id}"
            found += matches[:limit]
        return found

    async def oldest(self, limit: int, source: str | None = None) -> list[DeadLetter]:
        """The oldest `limit` entries across partitions, by entry id (arrival time)."""
        letters = sorted(await self.scan(source, limit), key=lambda letter: entry_id_order(letter.stream_id))
        return letters[:limit]

    async def get(self, entry_id: str) -> DeadLetter | None:
        """The entry named `<stream id>@<partition>`, or by a bare stream id that one partition holds.

        A bare id two partitions hold is refused (409) with the names of both, never guessed.
        """
        stream_id, at, partition_text = entry_id.partition("@")
        if not _is_stream_id(stream_id):
            return None
        if at:
            # Only a partition that exists, written as `dead_letter_id` writes it (`@2`, never `@02`).
            existing = range(self._keys.partitions)
            partitions: Iterable[int] = [int(partition_text)] if partition_text in map(str, existing) else []
        else:
            partitions = range(self._keys.partitions)
        found = [
            page[0]
            for partition in partitions
            if (page := await self._page(partition, stream_id, 1)) and page[0].stream_id == stream_id
        ]
        if len(found) > 1:
            names = " and ".join(letter.entry_id for letter in found)
            raise ErrorAnswer(409, "ambiguous_entry_id", f"{entry_id!r} names {names}: give one of them")
        return found[0] if found else None

    async def redrive(
        self, config: Config, pipeline: Pipeline, entry_ids: Iterable[str] | None, delete: bool
    ) -> list[RedriveResult]:
        """Redrive the named entries, or (None) every entry not redriven yet."""
        if entry_ids is None:
            letters: list[DeadLetter | RedriveResult] = [
                letter for letter in await self.scan() if letter.redriven is None
            ]
        else:
            named = [
                await self.get(entry_id) or RedriveResult(entry_id, "", "not_found", detail="no such entry")
                for entry_id in entry_ids
            ]
            # An entry named twice (bare and with its partition) is redriven once.
            letters = list({letter.entry_id: letter for letter in named}.values())

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
        delivery = Delivery(
            source,
            letter.body,
            letter.kind,
            "redrive",
            _received_at(letter),
            letter.delivery_id,
            letter.headers,
        )
        try:
            if letter.media_omitted:
                event = pipeline.decode_delivery(delivery)
                outcome = await self._fetch_again(config, source, event)
            else:
                event = await pipeline.prepare(delivery)
                outcome = await pipeline.conclude(delivery, event)
        except Quarantine as still:
            return RedriveResult(letter.entry_id, source.id, "still_quarantined", detail=still.detail)
        if delete:
            await self._redis.xdel(letter.stream, letter.stream_id)
            await self._redis.hdel(self._keys.dlq_redriven(letter.partition), letter.stream_id)
        else:
            await self._redis.hset(
                self._keys.dlq_redriven(letter.partition),
                letter.stream_id,
                f"{outcome.status} {outcome.event_id or event.event_id}",
            )
        return RedriveResult(letter.entry_id, source.id, outcome.status, outcome.event_id)

    async def _fetch_again(self, config: Config, source: SourceConfig, event: CanonicalEvent) -> Outcome:
        """A body kept without its inline media: the task is watched at once, so that its result,
        fetched again, is published (superseding the incomplete event its loss led to)."""
        why = unwatchable(source)
        if why is not None:
            raise Quarantine("inline_media_without_store", f"the media was left out and {why}")
        await watch(
            JobQueue(self._redis, config.redis.prefix), source, event.task_id, time.time(), at_once=True
        )
        return Outcome("fetching")


def _is_stream_id(text: str) -> bool:
    """Whether Redis would take `text` as a stream id: each part a number below 2**64 (a larger one is
    Redis's error, which would answer 503 where the entry simply does not exist)."""
    millis, dash, sequence = text.partition("-")
    return _is_u64(millis) and (not dash or _is_u64(sequence))


def _is_u64(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) < 2**64


def _received_at(letter: DeadLetter) -> datetime:
    """The original arrival time, so that the redriven event says when it really arrived."""
    try:
        return datetime.fromisoformat(letter.received_at)
    except ValueError:
        return datetime.fromtimestamp(entry_id_order(letter.stream_id)[0] / 1000, tz=UTC)
