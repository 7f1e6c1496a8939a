"""A consumer-group loop over every partition: at least once, shared work, dead consumers reclaimed,
poison set aside.

Each pass first takes over entries another consumer of the group was given and has not acknowledged
for `min_idle_ms` (XAUTOCLAIM: that consumer died, or its handler failed), then reads new entries
(XREADGROUP `>`). An entry is acknowledged (XACK) only after the handler returned; a handler that
raises leaves it pending, and it is tried again once idle for `min_idle_ms`, by this consumer or any
other. Redis counts the deliveries; an entry delivered `max_attempts` times whose handler still fails
(or that cannot be parsed, or that keeps killing its consumer) is copied to `<stream>:poison` with
why, and acknowledged in the same transaction: one bad entry never blocks the group, and nothing is
dropped unseen. `<stream>:poison` shares the stream's hash tag (one slot with the stream).

One XREADGROUP reads every stream given: on a Redis Cluster, where the partitions live in different
slots, run one `consume` per partition (with a `RedisCluster` client each).

Redis 6.2 and 7+ both work: XAUTOCLAIM answers two elements on 6.2 and three on 7 (the third lists
entries deleted from the stream, which 7 drops from the pending list by itself); on 6.2 an entry
deleted (trimmed) while pending comes back empty, and is acknowledged here.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from videohooks_events.entries import Event, parse_entry


@dataclass(frozen=True, slots=True)
class Delivery:
    """One entry handed to the handler. `attempt` is 1 on first delivery, more after reclaims."""

    stream: str
    entry_id: str
    event: Event
    traceparent: str | None
    attempt: int


Handler = Callable[[Delivery], Awaitable[object]]
AnyRedis = Redis | RedisCluster

_Entry = tuple[str, Mapping[Any, Any] | None]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def ensure_group(client: AnyRedis, stream: str, group: str) -> None:
    """The group from the stream's first retained entry (a new service reads the history), once."""
    try:
        await client.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def poison_stream(stream: str) -> str:
    return f"{stream}:poison"


async def consume(
    client: AnyRedis,
    streams: Sequence[str],
    group: str,
    consumer: str,
    handler: Handler,
    *,
    max_attempts: int = 5,
    min_idle_ms: int = 60_000,
    block_ms: int = 5_000,
    count: int = 100,
) -> None:
    """Read `streams` (every partition) as `consumer` of `group` and hand each event to `handler`.

    Runs until cancelled (cancel the task to stop: an entry being handled then stays pending and is
    delivered again). `client` is a `redis.asyncio.Redis` (or `RedisCluster`) whose socket timeout,
    if any, exceeds `block_ms`. Handle events idempotently, by `event_id`: delivery is at least once.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    names = [_text(stream) for stream in streams]
    for stream in names:
        await ensure_group(client, stream, group)
    reader = _Reader(client, group, consumer, handler, max_attempts)
    cursors = dict.fromkeys(names, "0-0")
    task = asyncio.current_task()
    while True:
        # redis-py can swallow a cancellation that lands while a command completes: a cancelled task
        # stops here then, at the next pass, instead of blocking on the next read forever.
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        for stream in names:
            cursors[stream] = await reader.reclaim(stream, cursors[stream], min_idle_ms, count)
        reply: Any = await client.xreadgroup(
            group, consumer, dict.fromkeys(names, ">"), count=count, block=block_ms
        )
        for stream, batch in _batches(reply):
            for entry_id, fields in batch:
                await reader.handle(stream, _text(entry_id), fields, attempt=1)


def _batches(reply: Any) -> list[tuple[str, Any]]:
    """XREADGROUP's reply (RESP2, redis-py's default): `[[stream, [(entry_id, fields), ...]], ...]`."""
    return [(_text(stream), batch) for stream, batch in reply or []]


class _Reader:
    def __init__(self, client: AnyRedis, group: str, consumer: str, handler: Handler, max_attempts: int):
        self._client = client
        self._group = group
        self._consumer = consumer
        self._handler = handler
        self._max_attempts = max_attempts

    async def reclaim(self, stream: str, cursor: str, min_idle_ms: int, count: int) -> str:
        """Take over entries idle for `min_idle_ms` from `cursor` on; the cursor of the next pass."""
        reply: Any = await self._client.xautoclaim(
            stream, self._group, self._consumer, min_idle_ms, start_id=cursor, count=count
        )
        next_cursor, claimed = _text(reply[0]), reply[1]
        entries = [(_text(entry_id), fields) for entry_id, fields in claimed if entry_id is not None]
        if len(entries) < len(claimed):  # Redis 6.2: entries trimmed while pending come back empty
            await self._ack_vanished(stream, cursor, {entry_id for entry_id, _ in entries}, count)
        if entries:
            attempts = await self._attempts(stream, entries[0][0], entries[-1][0], len(entries))
            for entry_id, fields in entries:
                await self.handle(stream, entry_id, fields, attempt=attempts.get(entry_id, 1))
        return next_cursor

    async def _attempts(self, stream: str, first: str, last: str, count: int) -> dict[str, int]:
        pending = await self._client.xpending_range(
            stream, self._group, min=first, max=last, count=count, consumername=self._consumer
        )
        return {_text(item["message_id"]): int(item["times_delivered"]) for item in pending}

    async def _ack_vanished(self, stream: str, cursor: str, present: set[str], count: int) -> None:
        pending = await self._client.xpending_range(
            stream, self._group, min=cursor, max="+", count=count, consumername=self._consumer
        )
        for item in pending:
            entry_id = _text(item["message_id"])
            if entry_id not in present and not await self._client.xrange(stream, entry_id, entry_id):
                await self._client.xack(stream, self._group, entry_id)

    async def handle(
        self, stream: str, entry_id: str, fields: Mapping[Any, Any] | None, attempt: int
    ) -> None:
        if not fields:  # trimmed since it was delivered: nothing left to hand over
            await self._client.xack(stream, self._group, entry_id)
            return
        try:
            if attempt > self._max_attempts:  # it killed its consumers before the handler could fail
                raise RuntimeError(f"delivered {attempt - 1} times without being acknowledged")
            traceparent = next((_text(v) for k, v in fields.items() if _text(k) == "traceparent"), None)
            delivery = Delivery(stream, entry_id, parse_entry(fields), traceparent, attempt)
            await self._handler(delivery)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if attempt >= self._max_attempts:
                await self._poison(stream, entry_id, fields, attempt, exc)
            return
        await self._client.xack(stream, self._group, entry_id)

    async def _poison(
        self, stream: str, entry_id: str, fields: Mapping[Any, Any], attempt: int, exc: Exception
    ) -> None:
        """The entry, whole, to `<stream>:poison` with why, and acknowledged: both or neither."""
        aside: dict[Any, Any] = {
            **{_text(name): value for name, value in fields.items()},
            "poison_stream": stream,
            "poison_entry_id": entry_id,
            "poison_group": self._group,
            "poison_attempts": str(attempt),
            "poison_error": "".join(traceback.format_exception_only(exc)).strip()[:2000],
        }
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xadd(poison_stream(stream), aside)
            pipe.xack(stream, self._group, entry_id)
            await pipe.execute()
