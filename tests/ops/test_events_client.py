"""clients/python (`videohooks_events`) against a real Redis fed by a real receiver: typed events,
unknown fields and versions, a group shared between consumers with reclaim, poison entries, Redis 6.2."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
import redis
from redis.asyncio import Redis
from starlette.testclient import TestClient
from videohooks_events import (
    Delivery,
    EntryError,
    EventV1,
    EventV2,
    UnknownEvent,
    consume,
    parse_entry,
    poison_stream,
)

from receiver.config import parse_config
from receiver.foundation.keys import KeySpace
from receiver.http.app import create_app
from tests.support import read_stream, redis_bytes
from tests.support.config import config_dict
from tests.support.deliveries import memories_body


class Collector:
    """The handler of the tests: records deliveries, fails where told, and says when it has `wanted`."""

    def __init__(self, wanted: int, fails: Callable[[Delivery], bool] = lambda _: False) -> None:
        self.deliveries: list[Delivery] = []
        self.wanted = wanted
        self.fails = fails
        self.done = asyncio.Event()

    async def __call__(self, delivery: Delivery) -> None:
        if self.fails(delivery):
            raise RuntimeError(f"cannot handle {delivery.entry_id}")
        self.deliveries.append(delivery)
        if len(self.deliveries) >= self.wanted:
            self.done.set()

    async def wait(self) -> None:
        await asyncio.wait_for(self.done.wait(), timeout=60)


@contextlib.asynccontextmanager
async def running(*consumers: Any) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(consumer) for consumer in consumers]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def event_json(**changes: Any) -> bytes:
    event = {
        "event_id": "e-1",
        "schema_version": 2,
        "source": "s",
        "provider": "memories",
        "task_id": "t",
        "task_type": "description",
        "status": "succeeded",
        "model": None,
        "text": None,
        "title": None,
        "segments": [],
        "usage": {"input_tokens": None, "output_tokens": None, "total_tokens": None, "processing_ms": None},
        "error": None,
        "truncated": False,
        "assets": [],
        "occurred_at": None,
        "received_at": "2026-12-07T03:00:00Z",
        "delivery_id": None,
        "extensions": {},
    }
    return orjson.dumps(event | changes)


async def test_a_running_receivers_events_read_typed_over_every_partition(
    redis_url: str, prefix: str, aredis: Redis
) -> None:
    settings = config_dict(prefix, redis_url)
    settings["redis"] = {"url": redis_url, "prefix": prefix, "partitions": 3}
    keys = KeySpace(prefix, partitions=3)
    with TestClient(create_app(parse_config(settings))) as client:
        for number in range(6):
            response = client.post("/v1/callbacks/memories-open", content=memories_body(f"task-{number}"))
            assert response.json()["status"] == "accepted"
    assert sum([await aredis.xlen(stream) for stream in keys.all_events()]) == 6
    handler = Collector(6)
    async with running(consume(aredis, keys.all_events(), "billing", "w1", handler, block_ms=100)):
        await handler.wait()
    events = [delivery.event for delivery in handler.deliveries]
    assert all(isinstance(event, EventV2) for event in events)
    typed = [event for event in events if isinstance(event, EventV2)]
    assert sorted(event.task_id for event in typed) == [f"task-{number}" for number in range(6)]
    assert {event.source for event in typed} == {"memories-open"}
    assert [segment.text for segment in typed[0].segments] == ["a", "b"]
    assert typed[0].received_at.tzinfo is not None
    assert {delivery.stream for delivery in handler.deliveries} <= set(keys.all_events())
    assert all(delivery.attempt == 1 for delivery in handler.deliveries)
    for stream in keys.all_events():  # acknowledged once handled
        assert (await aredis.xpending(stream, "billing"))["pending"] == 0


def test_unknown_fields_are_kept_and_a_future_version_comes_back_raw() -> None:
    asset = {"kind": "video", "url": "s3://b/k", "expires_at": None, "hdr": True}
    copy = {"source_url": None, "content_type": "video/mp4", "bytes": 1, "sha256": "a" * 64}
    extra = parse_entry({b"event": event_json(mood="calm", assets=[asset | copy]), b"schema_version": b"2"})
    assert isinstance(extra, EventV2)
    assert extra.model_extra == {"mood": "calm"}
    assert extra.assets[0].model_extra == {"hdr": True}
    # What version 2 adds to an asset is missing from this one: that is a version 1 asset's shape.
    old = parse_entry({"event": event_json(schema_version=1, assets=[asset]).decode()})
    assert isinstance(old, EventV1) and old.assets[0].url == "s3://b/k"
    future = parse_entry({b"event": event_json(schema_version=3, shape="new")})
    assert isinstance(future, UnknownEvent)
    assert (future.schema_version, future.event_id, future.data["shape"]) == (3, "e-1", "new")


def test_an_entry_without_an_event_is_refused_by_name() -> None:
    with pytest.raises(EntryError, match="no event field"):
        parse_entry({b"source": b"s"})
    with pytest.raises(EntryError, match="not an object"):
        parse_entry({b"event": b"[1]"})
    with pytest.raises(EntryError, match="not JSON"):
        parse_entry({b"event": b"{"})


async def test_an_extra_field_and_a_future_version_through_consume(prefix: str, aredis: Redis) -> None:
    stream = KeySpace(prefix).events(0)
    await aredis.xadd(stream, {"event": event_json(mood="calm"), "schema_version": "2"})
    await aredis.xadd(stream, {"event": event_json(schema_version=9), "schema_version": "9"})
    handler = Collector(2)
    async with running(consume(aredis, [stream], "g", "w", handler, block_ms=100)):
        await handler.wait()
    first, second = (delivery.event for delivery in handler.deliveries)
    assert isinstance(first, EventV2) and first.model_extra == {"mood": "calm"}
    assert isinstance(second, UnknownEvent) and second.schema_version == 9


async def test_consumers_share_a_group_and_take_over_a_dead_ones_entries(
    prefix: str, aredis: Redis, rclient: redis.Redis
) -> None:
    stream = KeySpace(prefix).events(0)
    for number in range(3):
        await aredis.xadd(stream, {"event": event_json(event_id=f"dead-{number}")})
    await aredis.xgroup_create(stream, "g", id="0")
    # A consumer that read three entries and died before acknowledging them.
    read = await aredis.xreadgroup("g", "dead", {stream: ">"})
    assert isinstance(read, list) and len(read[0][1]) == 3
    for number in range(20):
        await aredis.xadd(stream, {"event": event_json(event_id=f"new-{number}")})
    first, second = Collector(0), Collector(0)
    everyone = asyncio.Event()

    def seen() -> list[str]:
        return [str(d.event.event_id) for d in first.deliveries + second.deliveries]

    async def watch(delivery: Delivery) -> None:
        if len(seen()) == 23:
            everyone.set()

    async def handle_first(delivery: Delivery) -> None:
        await first(delivery)
        await watch(delivery)

    async def handle_second(delivery: Delivery) -> None:
        await second(delivery)
        await watch(delivery)

    async with running(
        consume(aredis, [stream], "g", "one", handle_first, min_idle_ms=300, count=2, block_ms=50),
        consume(aredis, [stream], "g", "two", handle_second, min_idle_ms=300, count=2, block_ms=50),
    ):
        await asyncio.wait_for(everyone.wait(), timeout=60)
    assert sorted(seen()) == sorted([f"dead-{n}" for n in range(3)] + [f"new-{n}" for n in range(20)])
    reclaimed = [d for d in first.deliveries + second.deliveries if str(d.event.event_id).startswith("dead")]
    assert {d.attempt for d in reclaimed} == {2}
    assert first.deliveries and second.deliveries  # both did part of the work
    assert rclient.xpending(stream, "g")["pending"] == 0


async def test_an_entry_failing_max_attempts_times_goes_to_the_poison_stream(
    prefix: str, aredis: Redis, rclient: redis.Redis
) -> None:
    stream = KeySpace(prefix).events(0)
    bad = redis_bytes(await aredis.xadd(stream, {"event": event_json(event_id="bad"), "source": "s"}))
    await aredis.xadd(stream, {"event": b"not json"})
    await aredis.xadd(stream, {"event": event_json(event_id="good")})
    attempts: list[int] = []

    def fails(delivery: Delivery) -> bool:
        if delivery.event.event_id == "bad":
            attempts.append(delivery.attempt)
            return True
        return False

    handler = Collector(1, fails)
    poisoned = asyncio.Event()

    async def until_poisoned() -> None:
        async with running(
            consume(aredis, [stream], "g", "w", handler, max_attempts=3, min_idle_ms=0, block_ms=20)
        ):
            while rclient.xlen(poison_stream(stream)) < 2:
                await asyncio.sleep(0.01)
            poisoned.set()

    await asyncio.wait_for(until_poisoned(), timeout=60)
    assert [str(d.event.event_id) for d in handler.deliveries] == ["good"]
    assert attempts == [1, 2, 3]
    entries = {
        fields[b"poison_entry_id"].decode(): fields
        for _, fields in read_stream(rclient, poison_stream(stream))
    }
    aside = entries[bad.decode()]
    assert aside[b"event"] == event_json(event_id="bad") and aside[b"source"] == b"s"
    assert (aside[b"poison_attempts"], aside[b"poison_group"]) == (b"3", b"g")
    assert b"cannot handle" in aside[b"poison_error"]
    unreadable = next(fields for key, fields in entries.items() if key != bad.decode())
    assert b"EntryError" in unreadable[b"poison_error"]
    assert rclient.xpending(stream, "g")["pending"] == 0


@pytest.mark.parametrize("server", ["redis_url", "redis62_url"])
async def test_reclaim_acknowledges_entries_trimmed_while_pending(
    server: str, request: pytest.FixtureRequest, prefix: str
) -> None:
    """Redis 6.2 answers XAUTOCLAIM with two elements and hands trimmed entries back empty; 7 with
    three, listing them apart. Either way the entry leaves the pending list and the rest is handled."""
    client = Redis.from_url(request.getfixturevalue(server))
    try:
        stream = KeySpace(prefix).events(0)
        gone = await client.xadd(stream, {"event": event_json(event_id="gone")})
        await client.xadd(stream, {"event": event_json(event_id="kept")})
        await client.xgroup_create(stream, "g", id="0")
        await client.xreadgroup("g", "dead", {stream: ">"})
        await client.xdel(stream, gone)
        handler = Collector(1)
        async with running(consume(client, [stream], "g", "w", handler, min_idle_ms=0, block_ms=20)):
            await handler.wait()
            while (await client.xpending(stream, "g"))["pending"]:
                await asyncio.sleep(0.01)
        assert [str(d.event.event_id) for d in handler.deliveries] == ["kept"]
    finally:
        await client.delete(KeySpace(prefix).events(0))
        await client.aclose()
