"""Status order: a task never moves backwards in the stream, terminal states are final, and every
`stale` is counted, whichever path published it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
import redis
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from starlette.testclient import TestClient

from receiver.core.publisher import Publication, Publisher
from receiver.foundation.keys import KeySpace
from schemas.event import CanonicalEvent, Status
from schemas.normalizing import DeliveryContext, build_event
from tests.support import stream_events
from tests.support.deliveries import memories_body, signed_headers


def event(task_id: str, status: Status, delivery_id: str) -> CanonicalEvent:
    ctx = DeliveryContext("order-src", "memories", datetime.now(UTC), delivery_id)
    return build_event(ctx, task_id=task_id, task_type="description", status=status)


def stale_count(source: str, metric: str = "videohooks_publications_total") -> float:
    return REGISTRY.get_sample_value(metric, {"source": source, "outcome": "stale"}) or 0.0


@pytest.fixture
async def publisher(redis_url: str, prefix: str) -> AsyncIterator[Publisher]:
    client = Redis.from_url(redis_url)
    yield Publisher(client, KeySpace(prefix), dedupe_ttl_seconds=3600)
    await client.aclose()


async def test_one_at_a_time_backwards_is_stale_terminal_is_final(
    publisher: Publisher, rclient: redis.Redis, prefix: str
) -> None:
    stale_before = stale_count("order-src")
    steps: list[tuple[Status, str]] = [
        ("running", "accepted"),
        ("queued", "stale"),  # backwards
        ("running", "duplicate"),  # same status, new delivery id
        ("succeeded", "accepted"),
        ("suspended", "stale"),  # after a terminal state
        ("failed", "stale"),  # another terminal state: the first one is final
        ("canceled", "stale"),
        ("succeeded", "duplicate"),
    ]
    outcomes = []
    for number, (status, _) in enumerate(steps):
        outcomes.append((await publisher.publish(event("t1", status, f"d{number}"))).outcome)
    assert outcomes == [expected for _, expected in steps]
    published = [item["status"] for item in stream_events(rclient, f"{prefix}:events")]
    assert published == ["running", "succeeded"]
    assert stale_count("order-src") - stale_before == 4


async def test_across_batches_order_of_submission_decides(
    publisher: Publisher, rclient: redis.Redis, prefix: str
) -> None:
    """Later batches wait for the one in flight: on separate connections they could overtake it, and a
    task's `running` would then land before its `queued` and make it stale."""
    pending: list[asyncio.Future[Publication]] = []
    for status in ("queued", "running", "succeeded"):
        # More than one script call's worth per turn, each turn submitted while the last is in flight.
        pending += [
            asyncio.ensure_future(publisher.publish(event(f"x{n}", status, f"{status}{n}")))
            for n in range(300)
        ]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    outcomes = {publication.outcome for publication in await asyncio.gather(*pending)}
    assert outcomes == {"accepted"}
    by_task: dict[str, list[str]] = {}
    for item in stream_events(rclient, f"{prefix}:events"):
        by_task.setdefault(item["task_id"], []).append(item["status"])
    assert set(map(tuple, by_task.values())) == {("queued", "running", "succeeded")}


async def test_within_one_batch_order_of_submission_decides(
    publisher: Publisher, rclient: redis.Redis, prefix: str
) -> None:
    stale_before = stale_count("order-src")
    # Submitted in one event-loop turn: one script call, checked in order within it.
    statuses: list[Status] = ["running", "queued", "succeeded", "running", "failed", "succeeded"]
    publications = await asyncio.gather(
        *(publisher.publish(event("t2", status, f"b{number}")) for number, status in enumerate(statuses))
    )
    assert [publication.outcome for publication in publications] == [
        "accepted",
        "stale",
        "accepted",
        "duplicate",
        "stale",
        "duplicate",
    ]
    assert [item["status"] for item in stream_events(rclient, f"{prefix}:events")] == ["running", "succeeded"]
    assert stale_count("order-src") - stale_before == 2


async def test_tasks_are_ordered_independently(
    publisher: Publisher, rclient: redis.Redis, prefix: str
) -> None:
    await publisher.publish(event("a", "succeeded", "a1"))
    assert (await publisher.publish(event("b", "queued", "b1"))).outcome == "accepted"
    assert (await publisher.publish(event("a", "queued", "a2"))).outcome == "stale"
    assert [item["task_id"] for item in stream_events(rclient, f"{prefix}:events")] == ["a", "b"]


def test_stale_callback_answers_202_stale_and_is_counted(client: TestClient, prefix: str) -> None:
    succeeded = memories_body("late-task")
    failed = orjson.dumps({"code": 500, "message": "boom", "task_id": "late-task"})
    before = stale_count("memories-signed", "videohooks_deliveries_total")
    first = client.post(
        "/v1/callbacks/memories-signed", content=succeeded, headers=signed_headers(succeeded, "m1")
    )
    late = client.post("/v1/callbacks/memories-signed", content=failed, headers=signed_headers(failed, "m2"))
    assert first.json()["status"] == "accepted"
    assert (late.status_code, late.json()["status"]) == (202, "stale")
    assert stale_count("memories-signed", "videohooks_deliveries_total") - before == 1
    scraped = client.get("/metrics").text
    assert 'videohooks_publications_total{outcome="stale",source="memories-signed"}' in scraped
