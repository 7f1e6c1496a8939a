"""The task record: assembled from the task's hash, its stream entries and its watch job."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import redis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.testclient import TestClient
from typer.testing import CliRunner

from receiver.cli import app as cli
from receiver.config import Config
from receiver.core.jobs import Job, JobQueue
from receiver.core.publisher import Publication, Publisher
from receiver.flow.poll import POLL, poll_job_id, watch
from receiver.foundation.errors import RedisUnavailable
from receiver.foundation.keys import KeySpace
from receiver.foundation.redis_clients import MappedRedis
from receiver.services.taskrecord import assemble, published_at, read_task
from schemas.event import CanonicalEvent, Status
from schemas.normalizing import DeliveryContext, build_event
from tests.support import ADMIN_HEADERS, free_port


def event(source: str, task_id: str, status: Status) -> CanonicalEvent:
    ctx = DeliveryContext(source, "memories", datetime.now(UTC), f"{task_id}-{status}")
    return build_event(ctx, task_id=task_id, task_type="description", status=status)


def unix(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()


# -- assembly, without Redis


def test_statuses_in_entry_id_order_without_the_markers() -> None:
    marks = {
        "succeeded": "1764849900000-10",
        "~rank": "2",
        "~d:delivery-1": "evt-a",
        "running": "1764849900000-9",  # before -10: entry ids compare as numbers, not text
        "queued": "1764849899999-0",
        "~why:1764849900000-9": "callback (signed)",
    }
    record = assemble(
        "src", "t1", marks, {"1764849900000-9": "evt-r", "1764849900000-10": "evt-s"}, None, None
    )
    assert record is not None
    assert record.as_json() == {
        "source": "src",
        "task_id": "t1",
        "statuses": [
            # trimmed from the stream: the event id is no longer known
            {"status": "queued", "event_id": None, "entry_id": "1764849899999-0",
             "published_at": "2025-12-04T12:04:59.999000Z", "decision": None, "incomplete": False,
             "superseded_by": None},
            {"status": "running", "event_id": "evt-r", "entry_id": "1764849900000-9",
             "published_at": "2025-12-04T12:05:00Z", "decision": "callback (signed)", "incomplete": False,
             "superseded_by": None},
            {"status": "succeeded", "event_id": "evt-s", "entry_id": "1764849900000-10",
             "published_at": "2025-12-04T12:05:00Z", "decision": None, "incomplete": False,
             "superseded_by": None},
        ],
        "final": True,
        "watch": None,
        "held": [],
    }  # fmt: skip


def test_an_incomplete_event_and_the_event_that_superseded_it() -> None:
    marks = {
        "succeeded": "1764849900000-3",
        "~x:succeeded": "1764849900000-1",
        "~rank": "2",
        "~why:1764849900000-1": "a webhook whose fetch failed",
        "~why:1764849900000-3": "polled: complete result",
    }
    record = assemble(
        "src", "t1", marks, {"1764849900000-1": "evt-old", "1764849900000-3": "evt-new"}, None, None
    )
    assert record is not None
    assert [
        (item.event_id, item.decision, item.incomplete, item.superseded_by) for item in record.statuses
    ] == [
        ("evt-old", "a webhook whose fetch failed", False, "evt-new"),
        ("evt-new", "polled: complete result", False, None),
    ]


def test_a_watched_task_with_nothing_published() -> None:
    job = Job(
        poll_job_id("src", "t1"),
        POLL,
        {"source": "src", "task_id": "t1", "registered_at": 1764849835.5, "interval": 5.0,
         "last_error": "HTTP 502", "attempts": 3, "reconciling": True},
    )  # fmt: skip
    record = assemble("src", "t1", {}, {}, job, 1764849900.25)
    assert record is not None
    assert record.as_json()["statuses"] == []
    assert record.as_json()["final"] is False
    assert record.as_json()["watch"] == {
        "since": "2025-12-04T12:03:55.500000Z",
        "next_poll_at": "2025-12-04T12:05:00.250000Z",
        "attempts": 3,
        "last_error": "HTTP 502",
        "reconciling": True,
    }


def test_a_fresh_watch_has_defaults() -> None:
    job = Job("poll:src:t1", POLL, {"source": "src", "task_id": "t1", "registered_at": 1764849835})
    record = assemble("src", "t1", {"running": "1764849900000-0"}, {}, job, None)
    assert record is not None and record.watch is not None
    assert (record.final, record.watch.attempts, record.watch.last_error) == (False, 0, None)
    assert (record.watch.reconciling, record.watch.next_poll_at) == (False, None)


def test_nothing_known_is_none() -> None:
    assert assemble("src", "t1", {"~rank": "1"}, {}, None, None) is None


def test_published_at_is_the_entry_ids_milliseconds() -> None:
    assert published_at("0-1") == "1970-01-01T00:00:00Z"
    assert published_at("1764849900123-4") == "2025-12-04T12:05:00.123000Z"


# -- against Redis, after the real publisher


@pytest.mark.parametrize("partitions", [1, 4])
async def test_read_after_publishing(
    aredis: Redis, rclient: redis.Redis, prefix: str, partitions: int
) -> None:
    keys = KeySpace(prefix, partitions=partitions)
    publisher = Publisher(aredis, keys, dedupe_ttl_seconds=3600)
    queue = JobQueue(aredis, prefix)
    published = {}
    for status in ("queued", "running", "succeeded"):
        sent = event("src", "t1", status)
        publication = await publisher.publish(sent)
        assert publication.outcome == "accepted"
        published[status] = (sent.event_id, publication.entry_id)
    assert (await publisher.publish(event("src", "t1", "running"))).outcome == "duplicate"

    record = await read_task(aredis, keys, queue, "src", "t1", fetch_deadline_seconds=3600)
    assert record is not None
    assert [(item.status, item.event_id, item.entry_id) for item in record.statuses] == [
        (status, event_id, entry_id) for status, (event_id, entry_id) in published.items()
    ]
    before = time.time()
    for item in record.statuses:
        assert before - 10 < unix(item.published_at) <= before + 0.001
    assert record.final is True and record.watch is None

    # An entry trimmed from the stream keeps its place in the record, without its event id.
    stream = keys.events(keys.partition("src", "t1"))
    queued_entry = published["queued"][1]
    assert queued_entry is not None
    rclient.xdel(stream, queued_entry)
    trimmed = await read_task(aredis, keys, queue, "src", "t1", fetch_deadline_seconds=3600)
    assert trimmed is not None
    assert [item.event_id for item in trimmed.statuses] == [
        None,
        published["running"][0],
        published["succeeded"][0],
    ]

    assert await read_task(aredis, keys, queue, "src", "other", fetch_deadline_seconds=3600) is None
    assert await read_task(aredis, keys, queue, "other-src", "t1", fetch_deadline_seconds=3600) is None


async def test_read_a_watched_task(aredis: Redis, config: Config) -> None:
    source = config.source("veo-relay")
    assert source is not None
    keys = KeySpace(config.redis.prefix)
    queue = JobQueue(aredis, config.redis.prefix)
    registered = time.time()
    assert await watch(queue, source, "t1", registered)
    record = await read_task(aredis, keys, queue, "veo-relay", "t1", fetch_deadline_seconds=3600)
    assert record is not None and record.watch is not None
    assert record.statuses == [] and record.final is False
    assert unix(record.watch.since) == pytest.approx(registered, abs=1e-6)
    assert record.watch.next_poll_at is not None
    assert unix(record.watch.next_poll_at) == pytest.approx(registered, abs=1e-3)  # due at once
    assert await queue.due(poll_job_id("veo-relay", "t1")) == pytest.approx(registered, abs=1e-3)

    # A claimed job is due again when its lease ends: that is when it is next polled, if this run fails.
    await queue.claim(time.time(), 60, 10)
    leased = await read_task(aredis, keys, queue, "veo-relay", "t1", fetch_deadline_seconds=3600)
    assert leased is not None and leased.watch is not None and leased.watch.next_poll_at is not None
    assert unix(leased.watch.next_poll_at) == pytest.approx(time.time() + 60, abs=5)
    assert await queue.due("poll:veo-relay:nobody") is None


# -- the route and the command


def test_the_route(client: TestClient, config: Config, redis_url: str) -> None:
    watched = client.post("/v1/sources/veo-relay/tasks", json={"task_id": "t1"}, headers=ADMIN_HEADERS)
    assert watched.status_code == 202
    answer = client.get("/v1/sources/veo-relay/tasks/t1", headers=ADMIN_HEADERS)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["source"], body["task_id"], body["statuses"], body["final"]) == (
        "veo-relay",
        "t1",
        [],
        False,
    )
    assert body["watch"]["attempts"] == 0 and body["watch"]["reconciling"] is False

    unknown_task = client.get("/v1/sources/veo-relay/tasks/t2", headers=ADMIN_HEADERS)
    assert (unknown_task.status_code, unknown_task.json()["error"]["code"]) == (404, "unknown_task")
    unknown_source = client.get("/v1/sources/nope/tasks/t1", headers=ADMIN_HEADERS)
    assert (unknown_source.status_code, unknown_source.json()["error"]["code"]) == (404, "unknown_source")
    assert client.get("/v1/sources/veo-relay/tasks/t1").status_code == 401


def test_the_command(config_file: Path, prefix: str, redis_url: str) -> None:
    sent = event("memories-main", "t1", "succeeded")

    async def publish() -> Publication:
        async with Redis.from_url(redis_url) as client:
            return await Publisher(client, KeySpace(prefix), dedupe_ttl_seconds=3600).publish(sent)

    publication = asyncio.run(publish())
    runner = CliRunner()
    shown = runner.invoke(cli, ["task", "memories-main", "t1", "--config", str(config_file)])
    assert shown.exit_code == 0, shown.output
    record = orjson.loads(shown.stdout)
    assert record["statuses"] == [
        {
            "status": "succeeded",
            "event_id": sent.event_id,
            "entry_id": publication.entry_id,
            "published_at": published_at(publication.entry_id or ""),
            "decision": "published",
            "incomplete": False,
            "superseded_by": None,
        }
    ]
    assert record["final"] is True and record["watch"] is None

    unknown = runner.invoke(cli, ["task", "memories-main", "t2", "--config", str(config_file)])
    assert unknown.exit_code == 1 and "nothing is known" in unknown.output
    no_source = runner.invoke(cli, ["task", "nope", "t1", "--config", str(config_file)])
    assert no_source.exit_code == 2


async def test_redis_down_is_redis_unavailable() -> None:
    client = MappedRedis(port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    with pytest.raises(RedisUnavailable):
        await read_task(
            client, KeySpace("nowhere"), JobQueue(client, "nowhere"), "src", "t1", fetch_deadline_seconds=3600
        )
    await client.aclose()
