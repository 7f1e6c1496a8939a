"""The consumer library and `videohooks tail`: typed events back, groups, ack, reclaim, lost groups."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import redis
from redis.asyncio import Redis
from typer.testing import CliRunner

from receiver.cli import app as cli
from receiver.core.publisher import Publisher
from receiver.foundation.keys import KeySpace
from receiver.services.subscriber import Subscriber, follow
from schemas.event import CanonicalEvent, Segment, Usage, event_from_json, event_to_json
from schemas.normalizing import DeliveryContext, build_event
from tests.support.waiting import wait_for


def rich_event(number: int) -> CanonicalEvent:
    ctx = DeliveryContext("sub-src", "memories", datetime.now(UTC), f"d-{number}")
    return build_event(
        ctx,
        task_id=f"task-{number}",
        task_type="description",
        status="succeeded",
        model="gemini-2.5-flash",
        text=f"text {number}",
        segments=[Segment(start_ms=0, end_ms=1500, text="a dog", kind="description")],
        usage=Usage(input_tokens=10, output_tokens=number, total_tokens=10 + number),
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        extensions={"error_rate": 0.0},
    )


@pytest.fixture
async def aredis(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    """Its connections carry the test's name, so that `blocked_reading` can find them in CLIENT LIST."""
    client = Redis.from_url(redis_url, client_name=prefix)
    yield client
    await client.aclose()


def blocked_reading(aredis: Redis, name: str) -> Callable[[], Awaitable[bool]]:
    """Whether a connection named `name` waits in a blocking read now: a reader that has resolved
    where it starts and found nothing to hand back (a reader that spins is never blocked)."""

    async def blocked() -> bool:
        return any(client["name"] == name and "b" in client["flags"] for client in await aredis.client_list())

    return blocked


@pytest.fixture
def keys(prefix: str) -> KeySpace:
    return KeySpace(prefix, partitions=3)


@pytest.fixture
async def published(aredis: Redis, keys: KeySpace) -> list[CanonicalEvent]:
    events = [rich_event(number) for number in range(8)]
    publisher = Publisher(aredis, keys, 3600)
    await asyncio.gather(*(publisher.publish(event) for event in events))
    assert sum([await aredis.xlen(stream) for stream in keys.all_events()]) == 8
    return events


async def test_events_come_back_as_equal_models_from_every_partition(
    aredis: Redis, keys: KeySpace, published: list[CanonicalEvent]
) -> None:
    subscriber = Subscriber(aredis, keys, "workers", "c1", block_ms=100)
    await subscriber.ensure_groups()
    received = await subscriber.read()
    assert {item.stream for item in received} == set(keys.all_events())
    assert sorted((item.event for item in received), key=lambda event: event.task_id) == published
    for item in received:
        await subscriber.ack(item)
    assert await subscriber.read() == []  # nothing pending, nothing new
    for stream in keys.all_events():
        assert (await aredis.xpending(stream, "workers"))["pending"] == 0


async def test_a_dead_consumers_pending_entries_are_reclaimed_by_another(
    aredis: Redis, keys: KeySpace, published: list[CanonicalEvent]
) -> None:
    dying = Subscriber(aredis, keys, "workers", "dying", block_ms=100, count=3)
    await dying.ensure_groups()
    taken = await dying.read()
    await dying.ack(taken[0])  # handled one, then died with the rest pending
    survivor = Subscriber(aredis, keys, "workers", "survivor", block_ms=100, min_idle_ms=30_000)
    fresh = await survivor.read()  # before min_idle: only what nobody took
    assert {(item.stream, item.entry_id) for item in fresh}.isdisjoint(
        (item.stream, item.entry_id) for item in taken
    )
    # A minute passes on Redis's clock for the dying consumer's entries: XCLAIM's IDLE sets how long
    # they have been idle (JUSTID leaves their delivery counts alone).
    for item in taken[1:]:
        await aredis.xclaim(item.stream, "workers", "dying", 0, [item.entry_id], idle=60_000, justid=True)
    reclaimed = await survivor.read()
    assert sorted((item.stream, item.entry_id) for item in reclaimed) == sorted(
        (item.stream, item.entry_id) for item in taken[1:]
    )
    by_id = {(item.stream, item.entry_id): item.event for item in taken}
    assert all(item.event == by_id[item.stream, item.entry_id] for item in reclaimed)
    for item in [*fresh, *reclaimed]:
        await survivor.ack(item)
    for stream in keys.all_events():
        assert (await aredis.xpending(stream, "workers"))["pending"] == 0


async def test_a_group_deleted_under_a_running_consumer_is_recreated(
    aredis: Redis, keys: KeySpace, published: list[CanonicalEvent]
) -> None:
    subscriber = Subscriber(aredis, keys, "workers", "c1", block_ms=100)
    first = await subscriber.read()  # no group yet: NOGROUP, so the groups are created, then read
    assert len(first) == 8
    for stream in keys.all_events():
        await aredis.xgroup_destroy(stream, "workers")
    again = await subscriber.read()
    # Recreated from 0: every retained event again (at least once), none skipped.
    assert sorted((item.stream, item.entry_id) for item in again) == sorted(
        (item.stream, item.entry_id) for item in first
    )
    for stream in keys.all_events():
        assert [group["name"] for group in await aredis.xinfo_groups(stream)] == [b"workers"]


async def test_follow_without_a_group_sees_only_new_events_and_leaves_no_state(
    aredis: Redis, keys: KeySpace, published: list[CanonicalEvent], prefix: str
) -> None:
    reader = follow(aredis, keys, block_ms=100)
    later = rich_event(99)
    receiving = asyncio.ensure_future(anext(reader))
    await wait_for(blocked_reading(aredis, prefix))  # past the retained events, waiting for new ones
    await Publisher(aredis, keys, 3600).publish(later)
    received = await receiving
    assert received.event == later
    for stream in keys.all_events():
        assert await aredis.xinfo_groups(stream) == []


def test_tail_prints_json_lines_and_acks_with_a_group(
    tmp_path: Path, redis_url: str, prefix: str, rclient: redis.Redis, published: list[CanonicalEvent]
) -> None:
    config = tmp_path / "videohooks.toml"
    config.write_text(
        f'[redis]\nurl = "{redis_url}"\nprefix = "{prefix}"\npartitions = 3\n', encoding="utf-8"
    )
    runner = CliRunner()
    plain = runner.invoke(cli, ["tail", "--from-start", "--json", "--count", "8", "--config", str(config)])
    assert plain.exit_code == 0, plain.output
    printed = [event_from_json(line) for line in plain.stdout.splitlines()]
    assert sorted(printed, key=lambda event: event.task_id) == published

    filtered = runner.invoke(
        cli, ["tail", "--group", "audit", "--count", "8", "--source", "sub-src", "--config", str(config)]
    )
    assert filtered.exit_code == 0, filtered.output
    assert filtered.stdout.count("sub-src") == 8 and "succeeded" in filtered.stdout
    for stream in KeySpace(prefix, partitions=3).all_events():
        assert rclient.xpending(stream, "audit")["pending"] == 0
        assert rclient.xinfo_consumers(stream, "audit") == []  # the run's consumer left the group


async def test_a_consumer_leaves_only_streams_where_it_holds_nothing_pending(
    aredis: Redis, keys: KeySpace, published: list[CanonicalEvent]
) -> None:
    subscriber = Subscriber(aredis, keys, "workers", "short-lived", block_ms=100)
    await subscriber.ensure_groups()
    taken = await subscriber.read()
    kept = taken[0]
    for item in taken[1:]:
        if item.stream != kept.stream:
            await subscriber.ack(item)
    await subscriber.leave()
    for stream in keys.all_events():
        names = [consumer["name"] for consumer in await aredis.xinfo_consumers(stream, "workers")]
        # Where it still holds an entry it stays, so that the entry can be reclaimed.
        assert names == ([b"short-lived"] if stream == kept.stream else [])


async def test_unreadable_entries_are_skipped_left_pending_and_never_stall_a_reader(
    aredis: Redis, keys: KeySpace, published: list[CanonicalEvent], prefix: str
) -> None:
    """An entry that is no event of a known version (a newer receiver's, or another writer's) is not handed
    back, is not acked (it stays pending for the operator to see), and the events around it flow."""
    stream = keys.all_events()[0]
    newer = orjson.loads(event_to_json(rich_event(50)))
    newer["schema_version"] = 3
    await aredis.xadd(stream, {"event": orjson.dumps(newer), "schema_version": 3})
    await aredis.xadd(stream, {"note": "no event field"})

    subscriber = Subscriber(aredis, keys, "workers", "c1", block_ms=100)
    await subscriber.ensure_groups()
    received = await subscriber.read()
    assert sorted(item.event.task_id for item in received) == sorted(e.task_id for e in published)
    for item in received:
        await subscriber.ack(item)
    assert (await aredis.xpending(stream, "workers"))["pending"] == 2
    assert await subscriber.read() == []

    # Without a group: past the unreadable entries, then blocked waiting, not re-reading them.
    reader = follow(aredis, keys, from_start=True, block_ms=100)
    seen = [await anext(reader) for _ in published]
    assert sorted(item.event.task_id for item in seen) == sorted(e.task_id for e in published)
    waiting = asyncio.ensure_future(anext(reader))
    await wait_for(blocked_reading(aredis, prefix))
    assert not waiting.done()
    waiting.cancel()
