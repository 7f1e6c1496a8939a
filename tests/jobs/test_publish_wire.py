"""The publish script's call on a pooled connection (receiver/wire.py) and `publish_many`: the same
guarantees as one `publish` at a time through redis-py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis
from redis.asyncio import BlockingConnectionPool, Redis

from receiver.core.publisher import Publication, Publisher
from receiver.foundation.keys import KeySpace
from schemas.event import CanonicalEvent, Status
from schemas.normalizing import DeliveryContext, build_event
from tests.support import read_stream, stream_events


def event(task_id: str, status: Status, delivery_id: str) -> CanonicalEvent:
    ctx = DeliveryContext("wire-src", "memories", datetime.now(UTC), delivery_id)
    return build_event(ctx, task_id=task_id, task_type="description", status=status)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    # One connection: every call shows whether the one before it gave its connection back whole.
    pool = BlockingConnectionPool.from_url(redis_url, max_connections=1, timeout=2)
    client = Redis(connection_pool=pool)
    yield client
    await client.aclose()


async def test_publish_many_answers_each_event_in_order_as_one_at_a_time_would(
    client: Redis, rclient: redis.Redis, prefix: str
) -> None:
    publisher = Publisher(client, KeySpace(prefix), dedupe_ttl_seconds=3600)
    events = [
        event("t1", "running", "d1"),
        event("t2", "running", "d2"),
        event("t1", "succeeded", "d3"),
        event("t1", "queued", "d4"),  # backwards
        event("t2", "running", "d2"),  # the same delivery again
    ]
    results = await publisher.publish_many([(item, "callback (replay)") for item in events])
    assert [result.outcome for result in results if isinstance(result, Publication)] == [
        "accepted",
        "accepted",
        "accepted",
        "stale",
        "duplicate",
    ]
    published = [(item["task_id"], item["status"]) for item in stream_events(rclient, f"{prefix}:events")]
    assert published == [("t1", "running"), ("t2", "running"), ("t1", "succeeded")]
    assert [result.entry_id for result in results[:3] if isinstance(result, Publication)] == [
        entry_id.decode() for entry_id, _ in read_stream(rclient, f"{prefix}:events")
    ]


async def test_a_server_that_lost_its_scripts_gets_the_script_again(
    client: Redis, rclient: redis.Redis, prefix: str
) -> None:
    publisher = Publisher(client, KeySpace(prefix), dedupe_ttl_seconds=3600)
    assert (await publisher.publish(event("t1", "queued", "d1"))).outcome == "accepted"
    rclient.script_flush()  # as a restarted server, or a replica just promoted, has none
    assert (await publisher.publish(event("t1", "running", "d2"))).outcome == "accepted"
    assert (await publisher.publish(event("t1", "running", "d2"))).outcome == "duplicate"
    assert len(stream_events(rclient, f"{prefix}:events")) == 2


async def test_publish_many_completes_an_incomplete_event_once_as_publish_would(
    client: Redis, rclient: redis.Redis, prefix: str
) -> None:
    """A replayed run meets a status held by an incomplete (truncated) event: the one decision
    supersedes it, once, exactly as a single `publish` of the complete event would."""
    publisher = Publisher(client, KeySpace(prefix), dedupe_ttl_seconds=3600)
    ctx = DeliveryContext("wire-src", "memories", datetime.now(UTC), None)
    cut = build_event(ctx, task_id="t1", task_type="description", status="succeeded", truncated=True)
    assert (await publisher.publish(cut, "callback (signed)")).outcome == "accepted"
    whole = build_event(ctx, task_id="t1", task_type="description", status="succeeded", text="all of it")
    first, again = await publisher.publish_many([(whole, "callback (replay)"), (whole, "callback (replay)")])
    assert isinstance(first, Publication) and isinstance(again, Publication)
    assert (first.outcome, again.outcome) == ("accepted", "duplicate")
    assert first.event_id != cut.event_id
    published = stream_events(rclient, f"{prefix}:events")
    assert [item["event_id"] for item in published] == [cut.event_id, first.event_id]
    assert published[1]["extensions"]["supersedes"] == cut.event_id
