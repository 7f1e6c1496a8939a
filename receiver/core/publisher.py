"""Durable, deduplicated publishing of canonical events to Redis Streams.

Concurrent deliveries share round trips: the events submitted to a partition are sent in one call of
the `publish.lua` script, which for each event checks the delivery and (source, task, status) markers,
refuses a status that would move the task backwards, appends the event and records the markers, all
in one atomic step. A caller's future resolves only once Redis has answered, so a 2xx is never sent
before the event is in the stream.

Each partition has at most one call in flight; what is submitted meanwhile waits and goes out in the
next one. Calls on separate connections could otherwise overtake each other, and a task's events,
submitted in order (a replay's files, a poller's statuses), must reach the stream in that order. The
wait costs nothing in throughput: Redis runs scripts one at a time anyway, and the batches grow.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from typing import Any, Literal

import orjson
from redis.asyncio import Redis

from receiver.core.decision import Drop, Holder, Supersede, decide, incomplete
from receiver.core.delivery import Kind, Provenance
from receiver.core.replication import ReplicaWait
from receiver.core.wire import ScriptWire
from receiver.foundation import metrics, tracing
from receiver.foundation.errors import RedisUnavailable
from receiver.foundation.keys import AnyRedis, KeySpace, as_text
from schemas.event import (
    SCHEMA_VERSION,
    STATUS_RANK,
    TERMINAL_STATUSES,
    CanonicalEvent,
    Version,
    as_version,
    event_to_json,
    rfc3339,
)

PUBLISH_SCRIPT = files("receiver").joinpath("publish.lua").read_text(encoding="utf-8")

# Redis runs a script to completion before serving anyone else: bound the work one call may do.
MAX_BATCH = 256


@dataclass(frozen=True, slots=True)
class Publication:
    outcome: Literal["accepted", "duplicate", "stale"]
    entry_id: str | None = None
    # The id of the event in the stream: the one published, or the new id of one that superseded it.
    event_id: str | None = None


@dataclass(slots=True)
class _Pending:
    event: CanonicalEvent
    keys: tuple[str, str]
    args: tuple[str | bytes | int, ...]
    future: asyncio.Future[str]


# What the publish script answers instead of an entry id.
REFUSALS = ("duplicate", "stale", "incomplete ")


def _script_args(
    event: CanonicalEvent, why: str, event_json: bytes, supersedes: str
) -> tuple[str | bytes | int, ...]:
    """The thirteen arguments of one event in a call of the publish script (receiver/publish.lua)."""
    return (
        event.event_id,
        event.status,
        STATUS_RANK[event.status],
        event.delivery_id or "",
        event_json,
        event.source,
        event.provider,
        event.task_id,
        event.schema_version,
        tracing.traceparent(),
        "1" if incomplete(event) else "",
        supersedes,
        why,
    )


def _holder(refusal: str) -> Holder:
    """What holds a refused event's status, from the script's answer."""
    if refusal == "stale":
        return Holder(stale=True)
    return Holder(incomplete=refusal.removeprefix("incomplete ") if refusal != "duplicate" else None)


class Publisher:
    def __init__(
        self,
        redis: AnyRedis,
        keys: KeySpace,
        dedupe_ttl_seconds: int,
        replica_wait: ReplicaWait | None = None,
        event_version: Version = SCHEMA_VERSION,
    ) -> None:
        self._redis = redis
        self._event_version = event_version  # `[events] version`: every path publishes in this shape
        self._replica_wait = replica_wait
        self._keys = keys
        self._script = redis.register_script(PUBLISH_SCRIPT)
        # A cluster, and a `WAIT` after the script, keep redis-py's own command path.
        self._wire = ScriptWire(redis, self._script) if isinstance(redis, Redis) else None
        self._header = (dedupe_ttl_seconds, "")  # the script's ttl, and no peek
        self._peek_header = (dedupe_ttl_seconds, "peek")
        self._pending: dict[int, list[_Pending]] = {}
        self._sending: set[int] = set()  # partitions with a call in flight
        self._flush_scheduled = False
        self._in_flight: set[asyncio.Task[None]] = set()

    @property
    def keys(self) -> KeySpace:
        return self._keys

    async def publish(self, event: CanonicalEvent, why: str = "published") -> Publication:
        """Resolve once Redis has appended the event, or found it a duplicate or stale.

        Where the status is held by an incomplete event, `decide` says whether this one supersedes it
        (a second call, which the script makes atomic: at most one completion is appended).
        """
        event = as_version(event, self._event_version)
        return await self._settled(event, why, await self._submit(event, why, ""))

    async def publish_many(
        self, events: Sequence[tuple[CanonicalEvent, str]]
    ) -> list[Publication | BaseException]:
        """Each (event, why)'s publication, in order, queued together (a replay's chunk): one await for all.

        Queued in the order given, so a task's events reach the stream in that order, as if published
        one after the other; an event Redis did not confirm has its `RedisUnavailable` in its place.
        """
        # PERF: one future per event and one await for the run, not a coroutine each (bench/README.md,
        # index: replay).
        versioned = [(as_version(event, self._event_version), why) for event, why in events]
        answers = await asyncio.gather(
            *(self._submit(event, why, "") for event, why in versioned), return_exceptions=True
        )
        settled: list[Publication | BaseException] = []
        for (event, why), answer in zip(versioned, answers, strict=True):
            if isinstance(answer, BaseException):
                settled.append(answer)
                continue
            try:
                settled.append(await self._settled(event, why, answer))
            except RedisUnavailable as exc:
                settled.append(exc)
        return settled

    async def _settled(self, event: CanonicalEvent, why: str, answer: str) -> Publication:
        """The publication the script's `answer` for `event` makes: appended, or what `decide` makes of
        the refusal (a supersede is a second call of the script)."""
        if not answer.startswith(REFUSALS):
            return Publication("accepted", answer, event.event_id)
        match decide(event, why, holder=_holder(answer)):
            case Supersede(event=complete, replaces=replaces, why=reason):
                complete = as_version(complete, self._event_version)
                answer = await self._submit(complete, reason, replaces)
                if answer.startswith(REFUSALS):  # completed meanwhile by another path
                    return Publication("duplicate")
                return Publication("accepted", answer, complete.event_id)
            case Drop(outcome=outcome):
                return Publication(outcome)
            case _:  # pragma: no cover - without a notice, `decide` publishes, supersedes or drops
                raise AssertionError("a holder's decision is a supersede or a drop")

    def _submit(self, event: CanonicalEvent, why: str, supersedes: str) -> asyncio.Future[str]:
        """Queue one call of the script for `event` (batched with its partition's others): resolves to
        the new entry id, or the script's refusal (`duplicate`, `stale`, `incomplete <event id>`)."""
        partition = self._keys.partition(event.source, event.task_id)
        loop = asyncio.get_running_loop()
        pending = _Pending(
            event=event,
            keys=(self._keys.events(partition), self._keys.task(partition, event.source, event.task_id)),
            args=_script_args(event, why, event_to_json(event), supersedes),
            future=loop.create_future(),
        )
        self._pending.setdefault(partition, []).append(pending)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return pending.future

    def _flush(self) -> None:
        self._flush_scheduled = False
        for partition in [partition for partition in self._pending if partition not in self._sending]:
            self._sending.add(partition)
            task = asyncio.create_task(self._send_partition(partition, self._pending.pop(partition)))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _send_partition(self, partition: int, items: list[_Pending]) -> None:
        try:
            for start in range(0, len(items), MAX_BATCH):
                await self._send(items[start : start + MAX_BATCH])
        finally:
            self._sending.discard(partition)
            if partition in self._pending and not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)

    async def _send(self, items: list[_Pending]) -> None:
        keys = [key for item in items for key in item.keys]
        args: list[Any] = [*self._header, *(arg for item in items for arg in item.args)]
        started = time.perf_counter()
        try:
            if self._replica_wait is not None:
                results = await self._replica_wait.evalsha(self._redis, self._script, keys, args)
            elif self._wire is not None:
                results = await self._wire.call(keys, args)
            else:
                results = await self._script(keys=keys, args=args)
        except Exception as exc:
            # Whatever failed (Redis, or the client library racing a topology change mid-failover), the
            # write is unconfirmed and every caller must still get its answer: 503, and the retry dedupes.
            failure = (
                exc
                if isinstance(exc, RedisUnavailable)
                else RedisUnavailable(f"redis did not confirm the write: {exc.__class__.__name__}: {exc}")
            )
            for item in items:
                if not item.future.done():
                    item.future.set_exception(failure)
            return
        metrics.PUBLISH_SECONDS.observe(time.perf_counter() - started)
        metrics.PUBLISH_BATCH_SIZE.observe(len(items))
        for item, result in zip(items, results, strict=True):
            value = as_text(result)
            refused = value.startswith(REFUSALS)
            outcome = ("stale" if value == "stale" else "duplicate") if refused else "accepted"
            metrics.child(metrics.PUBLICATIONS, item.event.source, outcome).inc()
            if outcome == "accepted":
                _count_tokens(item.event)
            if not item.future.done():  # else the caller went away; the write stands all the same
                item.future.set_result(value)

    async def foreseen_drop(self, event: CanonicalEvent) -> Drop | None:
        """The `Drop` that `decide` would make of `event` were it published now (a duplicate, or a
        status the task is past), found by the publish script writing nothing.

        For the paths that do work before they publish (a fetch, an asset copy), so that none is done
        for an event the publish would drop; the publish itself finds and decides again, atomically.
        """
        partition = self._keys.partition(event.source, event.task_id)
        keys = (self._keys.events(partition), self._keys.task(partition, event.source, event.task_id))
        args = (*self._peek_header, *_script_args(event, "", b"", ""))
        [answer] = await self._script(keys=keys, args=args)
        refusal = as_text(answer)
        if not refusal:
            return None
        decision = decide(event, "foreseen", holder=_holder(refusal))
        return decision if isinstance(decision, Drop) else None

    async def final_published(self, source: str, task_id: str) -> bool:
        """Whether a complete final status of the task is in the stream (its hash's top rank is
        terminal, and no final status is held by an incomplete event)."""
        partition = self._keys.partition(source, task_id)
        marks = await self._redis.hmget(
            self._keys.task(partition, source, task_id),
            ["~rank", *(f"~i:{status}" for status in sorted(TERMINAL_STATUSES))],
        )
        rank = marks[0]
        return rank is not None and int(rank) == max(STATUS_RANK.values()) and not any(marks[1:])

    async def quarantine(
        self,
        source: str,
        reason: str,
        detail: str,
        headers: Mapping[str, str],
        body: bytes,
        received_at: datetime,
        delivery_id: str | None = None,
        *,
        kind: Kind = "callback",
        provenance: Provenance = "signed",
        media_omitted: bool = False,
    ) -> str:
        """Keep an authentic delivery that no schema accepts, whole, in the dead-letter stream.

        Its `kind` (a callback, or the API's task object) and `provenance` are kept with it, so that a
        redrive decodes it with the right schema versions; `media_omitted` says the kept body lacks the
        inline media it came with (a redrive then fetches the task again).

        The delivery id a verifier read from the headers is kept too: a redrive cannot verify again
        (the signature's timestamp has expired by then) but its event must carry the same id. Counted
        in `videohooks_quarantined_total` once Redis has confirmed it, whichever path quarantined.
        Answers the entry's id, as `dlq show` takes it.
        """
        partition = zlib.crc32(body) % self._keys.partitions
        fields: dict[Any, Any] = {
            "source": source,
            "reason": reason,
            "detail": detail,
            "headers": orjson.dumps(dict(headers)),
            "body": body,
            "received_at": rfc3339(received_at),
            "kind": kind,
            "provenance": provenance,
        }
        if media_omitted:
            fields["media_omitted"] = "1"
        if delivery_id:
            fields["delivery_id"] = delivery_id
        stream = self._keys.dlq(partition)
        if self._replica_wait is None:
            entry_id = await self._redis.xadd(stream, fields)
        else:
            flat = [item for pair in fields.items() for item in pair]
            entry_id = await self._replica_wait.execute(self._redis, stream, "XADD", stream, "*", *flat)
        metrics.child(metrics.QUARANTINED, source, reason).inc()
        return self._keys.dead_letter_id(partition, as_text(entry_id))

    async def drain(self) -> None:
        """Wait for every batch already sent, so that shutdown loses no acknowledged write."""
        while self._in_flight or self._pending:
            await asyncio.sleep(0)
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)


def _count_tokens(event: CanonicalEvent) -> None:
    """`videohooks_tokens_total` for an event now in the stream, whichever path published it."""
    model = event.model or "unknown"
    if event.usage.input_tokens:
        metrics.child(metrics.TOKENS, event.provider, model, "input").inc(event.usage.input_tokens)
    if event.usage.output_tokens:
        metrics.child(metrics.TOKENS, event.provider, model, "output").inc(event.usage.output_tokens)
