"""Reading the events streams as a consumer: typed events, consumer groups, ack, reclaim, at-least-once.

`Subscriber` reads every partition's events stream (`KeySpace.all_events()`) through one consumer
group and hands back `CanonicalEvent` models with the stream and entry id they came from. An entry
stays pending in the group until `ack()`: a consumer that dies before acking leaves it there, and
after `min_idle_ms` another consumer of the group takes it over (XAUTOCLAIM) and gets it again.
Delivery to consumers is therefore at least once: handle events idempotently, by `event_id`.

Groups are created from `0` (the oldest entry still retained), and a group that disappears under a
running consumer (deleted by hand, or lost with a Redis that restarted without persistence) is
created again from `0` too, rather than failing on NOGROUP: re-reading what is retained may repeat
events, which at-least-once consumers handle, while starting from `$` could silently skip events
published in between.

Events of version 1 and 2 are both read (`event_from_json`): a version 1 event's assets come back with
the version 2 fields null, so a consumer moves to version 2 before or after the receiver does. An entry
that is not a readable event of either version (written by something else, or by a newer receiver
whose event version this consumer does not know) is never handed back: it is logged
(`unreadable_entry`, with its stream, id and why) and skipped. In a group it stays pending, unacked:
the group's pending count (`videohooks_consumer_group_pending`) shows it, and the events around it
flow on. One such entry must not stall a consumer, nor be lost by an ack.

The Redis client must allow a blocking read: its socket timeout has to exceed `block_ms`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from receiver.foundation.errors import REDIS_REFUSALS, error_reply
from receiver.foundation.keys import AnyRedis, KeySpace, as_text
from receiver.foundation.logs import logger
from schemas.event import CanonicalEvent, event_from_json


@dataclass(frozen=True, slots=True)
class Received:
    """One event as read from a stream; `stream` and `entry_id` are what `ack` needs.

    `traceparent`: the W3C trace context of the delivery that published the event, when the receiver
    traces (`[telemetry]`); a consumer's span continues it (see examples/consume.py).
    """

    stream: str
    entry_id: str
    event: CanonicalEvent
    traceparent: str | None = None


def parse_entry(stream: Any, entry_id: Any, fields: Mapping[Any, Any]) -> Received | None:
    """The entry's event; None, once logged, when the entry holds no readable event of a known version."""
    named = {as_text(name): value for name, value in fields.items()}
    try:
        traceparent = named.get("traceparent")
        return Received(
            as_text(stream),
            as_text(entry_id),
            event_from_json(named["event"]),
            as_text(traceparent) if traceparent is not None else None,
        )
    except KeyError:
        why = "the entry has no event field"
    except ValidationError as exc:
        why = f"not a version 1 or 2 event: {exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}"
    logger.warning("unreadable_entry", stream=as_text(stream), entry_id=as_text(entry_id), detail=why)
    return None


class Subscriber:
    def __init__(
        self,
        redis: AnyRedis,
        keys: KeySpace,
        group: str,
        consumer: str,
        *,
        block_ms: int = 2000,
        count: int = 100,
        min_idle_ms: int = 60_000,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.group = group
        self.consumer = consumer
        self._block_ms = block_ms
        self._count = count
        self._min_idle_ms = min_idle_ms
        self._streams = keys.all_events()
        self._claim_cursors = dict.fromkeys(self._streams, "0-0")

    async def ensure_groups(self) -> None:
        """Create the group on every events stream (and the stream itself) where it is missing."""
        for stream in self._streams:
            try:
                await self._redis.xgroup_create(stream, self.group, id="0", mkstream=True)
            except REDIS_REFUSALS as exc:
                if not error_reply(exc).startswith("BUSYGROUP"):
                    raise

    async def read(self) -> list[Received]:
        """Entries abandoned by dead consumers first, then new ones (waiting up to `block_ms`)."""
        reclaimed = await self._with_group(self._reclaim)
        if reclaimed:
            return reclaimed
        return await self._with_group(self._read_new)

    async def ack(self, received: Received) -> None:
        await self._redis.xack(received.stream, self.group, received.entry_id)

    async def leave(self) -> None:
        """Remove this consumer from the group, where it holds no pending entry, once it reads no more.

        A short-lived consumer (each `tail --group` run has a name of its own) would otherwise stay
        listed in the group for good. One that leaves entries pending stays: deleting it would drop
        them from the group's pending list, where XAUTOCLAIM finds them for another consumer.
        """
        for stream in self._streams:
            try:
                held = await self._redis.xpending_range(
                    stream, self.group, min="-", max="+", count=1, consumername=self.consumer
                )
            except REDIS_REFUSALS as exc:  # no group (or stream) any more: nothing to leave
                if not error_reply(exc).startswith("NOGROUP"):
                    raise
                continue
            if not held:
                await self._redis.xgroup_delconsumer(stream, self.group, self.consumer)

    async def events(self) -> AsyncIterator[Received]:
        """Endless: every event for this consumer; the caller acks each once it is handled."""
        await self.ensure_groups()
        while True:
            for received in await self.read():
                yield received

    async def _with_group(self, read: Callable[[], Awaitable[list[Received]]]) -> list[Received]:
        try:
            return await read()
        except REDIS_REFUSALS as exc:
            if not error_reply(exc).startswith("NOGROUP"):
                raise
            await self.ensure_groups()
            return await read()

    async def _reclaim(self) -> list[Received]:
        claimed: list[Received] = []
        for stream in self._streams:
            # Redis 7 adds a third element (ids deleted meanwhile); 6.2, the embedded default, answers two.
            reply = await self._redis.xautoclaim(
                stream,
                self.group,
                self.consumer,
                self._min_idle_ms,
                start_id=self._claim_cursors[stream],
                count=self._count,
            )
            cursor, entries = reply[0], reply[1]
            self._claim_cursors[stream] = as_text(cursor)
            claimed += parse_reply([(stream, entries)])
        return claimed

    async def _read_new(self) -> list[Received]:
        received: list[Received] = []
        batches, block = read_batches(self._keys, self._streams, self._block_ms)
        for batch in batches:
            replies = await self._redis.xreadgroup(
                self.group, self.consumer, dict.fromkeys(batch, ">"), count=self._count, block=block
            )
            received += parse_reply(replies)
        return received


def read_batches(keys: KeySpace, streams: Sequence[str], block_ms: int) -> tuple[list[list[str]], int]:
    """Which streams one blocking read may cover, and how long each read waits.

    On one Redis a single read covers every stream. On a cluster the partitions live on different
    nodes: one read per stream, the wait shared between them.
    """
    batches = [[stream] for stream in streams] if keys.cluster else [list(streams)]
    return batches, max(1, block_ms // len(batches))


def parse_reply(replies: Any) -> list[Received]:
    """An XREAD/XREADGROUP reply (`[[stream, [(id, fields), ...]], ...]`, or None on timeout) as events,
    without the unreadable entries."""
    parsed = (
        parse_entry(stream, entry_id, fields)
        for stream, entries in replies or []
        for entry_id, fields in entries
        if fields
    )
    return [received for received in parsed if received is not None]


async def _last_id(redis: AnyRedis, stream: str) -> str:
    newest = await redis.xrevrange(stream, count=1)
    return as_text(newest[0][0]) if newest else "0-0"


async def follow(
    redis: AnyRedis, keys: KeySpace, *, from_start: bool = False, block_ms: int = 2000, count: int = 100
) -> AsyncIterator[Received]:
    """Every event as it is published (or, `from_start`, every retained one first), with no group.

    Nothing is recorded in Redis: a reader that stops and starts again begins anew. For resumable,
    acknowledged reading use `Subscriber`. The start position is resolved to an entry id once, so
    that nothing published between two reads is missed (as re-reading from `$` could).
    """
    streams = keys.all_events()
    positions = {stream: "0-0" if from_start else await _last_id(redis, stream) for stream in streams}
    batches, block = read_batches(keys, streams, block_ms)
    while True:
        for batch in batches:
            replies: Any = await redis.xread(
                {stream: positions[stream] for stream in batch}, count=count, block=block
            )
            for stream, entries in replies or []:
                for entry_id, fields in entries:
                    # Past every entry read, the unreadable too: reading from before one would return it
                    # at once, again and again.
                    positions[as_text(stream)] = as_text(entry_id)
                    received = parse_entry(stream, entry_id, fields) if fields else None
                    if received is not None:
                        yield received
