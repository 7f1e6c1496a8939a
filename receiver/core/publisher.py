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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from typing import Any, Literal

import orjson

from receiver.core.replication import NotReplicated, ReplicaWait
from receiver.foundation import metrics, tracing
from receiver.foundation.errors import REDIS_FAILURES, RedisUnavailable
from receiver.foundation.keys import AnyRedis, KeySpace, as_text
from schemas.event import (
    SCHEMA_VERSION,
    STATUS_RANK,
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


@dataclass(slots=True)
class _Pending:
    event: CanonicalEvent
    keys: tuple[str, str]
    args: tuple[str | bytes | int, ...]
    future: asyncio.Future[Publication]


class Publisher:
    def __init__(
        self,
        redis: AnyRedis,
        keys: KeySpace,
        dedupe_ttl_seconds: int,
        maxlen: int = 0,
        replica_wait: ReplicaWait | None = None,
        event_version: Version = SCHEMA_VERSION,
    ) -> None:
        self._redis = redis
        self._event_version = event_version  # `[events] version`: every path publishes in this shape
        self._replica_wait = replica_wait
        self._keys = keys
        self._script = redis.register_script(PUBLISH_SCRIPT)
        self._header = (dedupe_ttl_seconds, maxlen)
        self._pending: dict[int, list[_Pending]] = {}
        self._sending: set[int] = set()  # partitions with a call in flight
        self._flush_scheduled = False
        self._in_flight: set[asyncio.Task[None]] = set()

    @property
    def keys(self) -> KeySpace:
        return self._keys

    async def publish(self, event: CanonicalEvent) -> Publication:
        """Resolve once Redis has appended the event, or found it a duplicate or stale."""
        event = as_version(event, self._event_version)
        partition = self._keys.partition(event.source, event.task_id)
        loop = asyncio.get_running_loop()
        pending = _Pending(
            event=event,
            keys=(self._keys.events(partition), self._keys.task(partition, event.source, event.task_id)),
            args=(
                event.event_id,
                event.status,
                STATUS_RANK[event.status],
                event.delivery_id or "",
                event_to_json(event),
                event.source,
                event.provider,
                event.task_id,
                event.schema_version,
                tracing.traceparent(),
            ),
            future=loop.create_future(),
        )
        self._pending.setdefault(partition, []).append(pending)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await pending.future

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
            if self._replica_wait is None:
                results = await self._script(keys=keys, args=args)
            else:
                results = await self._replica_wait.evalsha(self._redis, self._script, keys, args)
        except Exception as exc:
            # Whatever failed (Redis, or the client library racing a topology change mid-failover), the
            # write is unconfirmed and every caller must still get its answer: 503, and the retry dedupes.
            failure = RedisUnavailable(f"redis did not confirm the write: {exc.__class__.__name__}: {exc}")
            for item in items:
                if not item.future.done():
                    item.future.set_exception(failure)
            return
        metrics.PUBLISH_SECONDS.observe(time.perf_counter() - started)
        metrics.PUBLISH_BATCH_SIZE.observe(len(items))
        for item, result in zip(items, results, strict=True):
            value = as_text(result)
            outcome = value if value in ("duplicate", "stale") else "accepted"
            metrics.child(metrics.PUBLICATIONS, item.event.source, outcome).inc()
            if outcome == "accepted":
                _count_tokens(item.event)
            if item.future.done():  # the caller went away; the write stands all the same
                continue
            if value in ("duplicate", "stale"):
                item.future.set_result(Publication(value))  # type: ignore[arg-type]
            else:
                item.future.set_result(Publication("accepted", value))

    async def published(self, event: CanonicalEvent) -> bool:
        """Whether this (source, task, status), or this delivery id, is already in the stream."""
        partition = self._keys.partition(event.source, event.task_id)
        seen = await self._redis.hmget(
            self._keys.task(partition, event.source, event.task_id),
            [event.status, f"~d:{event.delivery_id}" if event.delivery_id else "~rank"],
        )
        return seen[0] is not None or (event.delivery_id is not None and seen[1] is not None)

    async def final_published(self, source: str, task_id: str) -> bool:
        """Whether a final status of the task is in the stream (its hash's top rank is terminal)."""
        partition = self._keys.partition(source, task_id)
        rank = await self._redis.hget(self._keys.task(partition, source, task_id), "~rank")
        return rank is not None and int(rank) == max(STATUS_RANK.values())

    async def quarantine(
        self,
        source: str,
        reason: str,
        detail: str,
        headers: Mapping[str, str],
        body: bytes,
        received_at: datetime,
        delivery_id: str | None = None,
    ) -> str:
        """Keep an authentic delivery that no schema accepts, whole, in the dead-letter stream.

        The delivery id a verifier read from the headers is kept too: a redrive cannot verify again
        (the signature's timestamp has expired by then) but its event must carry the same id. Counted
        in `videohooks_quarantined_total` once Redis has confirmed it, whichever path quarantined.
        """
        partition = zlib.crc32(body) % self._keys.partitions
        fields: dict[Any, Any] = {
            "source": source,
            "reason": reason,
            "detail": detail,
            "headers": orjson.dumps(dict(headers)),
            "body": body,
            "received_at": rfc3339(received_at),
        }
        if delivery_id:
            fields["delivery_id"] = delivery_id
        try:
            stream = self._keys.dlq(partition)
            if self._replica_wait is None:
                entry_id = await self._redis.xadd(stream, fields)
            else:
                flat = [item for pair in fields.items() for item in pair]
                entry_id = await self._replica_wait.execute(self._redis, stream, "XADD", stream, "*", *flat)
        except (*REDIS_FAILURES, NotReplicated) as exc:
            raise RedisUnavailable(
                f"redis did not confirm the write: {exc.__class__.__name__}: {exc}"
            ) from exc
        metrics.child(metrics.QUARANTINED, source, reason).inc()
        return as_text(entry_id)

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
