"""Retention: MAXLEN on every append, MINID trimming by age, stream metrics, and the at-risk warning."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime

import orjson
import pytest
import redis
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from starlette.testclient import TestClient

from receiver.config import ConfigError, RetentionConfig, parse_config
from receiver.core.publisher import Publisher
from receiver.foundation.keys import KeySpace, as_text
from receiver.http.app import create_app
from receiver.services.retention import check_all, group_lag
from receiver.wiring.connection import open_pipeline
from schemas.event import CanonicalEvent
from schemas.normalizing import DeliveryContext, build_event
from tests.support import read_stream
from tests.support.config import config_dict
from tests.support.console import sign_in
from tests.support.waiting import wait_until


def event(number: int) -> CanonicalEvent:
    ctx = DeliveryContext("ret-src", "memories", datetime.now(UTC), None)
    return build_event(ctx, task_id=f"t-{number}", task_type="description", status="succeeded")


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_maxlen_trims_in_the_background_pass_not_on_append(
    redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    settings = config_dict(prefix, redis_url)
    settings["redis"] = {"url": redis_url, "prefix": prefix, "retention": {"maxlen": 50}}
    config = parse_config(settings)
    async with open_pipeline(config) as (redis_client, pipeline):
        await asyncio.gather(*(pipeline.publisher.publish(event(number)) for number in range(400)))
        assert rclient.xlen(f"{prefix}:events") == 400  # the publish script trims nothing
        [report, _] = await check_all(redis_client, pipeline.publisher.keys, config.redis.retention)
    assert (report.trimmed, report.length, report.held_back) == (350, 50, 0)
    newest = [
        orjson.loads(fields[b"event"])["task_id"] for _, fields in read_stream(rclient, f"{prefix}:events")
    ]
    assert newest == [f"t-{number}" for number in range(350, 400)]


async def old_entries_and_groups(aredis: Redis, keys: KeySpace) -> str:
    """Five entries an hour old, three new; groups `slow` (read nothing), `fast` (from the end) and
    `busy` (read six)."""
    stream = keys.events(0)
    now_ms = int(time.time() * 1000)
    for offset in range(5):  # an hour old
        await aredis.xadd(stream, {"event": "{}"}, id=f"{now_ms - 3_600_000 + offset}-0")
    publisher = Publisher(aredis, keys, 3600)
    for number in range(3):
        await publisher.publish(event(number))
    await aredis.xgroup_create(stream, "slow", id="0")
    await aredis.xgroup_create(stream, "fast", id="$")
    await aredis.xreadgroup("fast", "c", {stream: ">"}, count=1)  # reads nothing new; holds nothing
    await aredis.xgroup_create(stream, "busy", id="0")
    await aredis.xreadgroup("busy", "c", {stream: ">"}, count=6)  # read the old ones and one new
    return stream


async def test_without_an_archive_what_a_group_was_not_delivered_is_held_back(
    aredis: Redis, prefix: str
) -> None:
    keys = KeySpace(prefix)
    stream = await old_entries_and_groups(aredis, keys)
    [report, dlq_report] = await check_all(aredis, keys, RetentionConfig(min_age_seconds=600))
    assert (report.trimmed, report.held_back) == (0, 5)
    assert await aredis.xlen(stream) == 8
    assert 3590 < report.oldest_undelivered_seconds < 3700
    assert {group.group: group.at_risk for group in report.groups} == {
        "slow": True,
        "fast": False,
        "busy": False,
    }
    assert gauge("videohooks_retention_held_back", stream=stream) == 5
    assert gauge("videohooks_retention_oldest_undelivered_seconds", stream=stream) == pytest.approx(
        report.oldest_undelivered_seconds
    )
    assert gauge("videohooks_retention_at_risk", stream=stream, group="slow") == 1
    assert gauge("videohooks_consumer_group_pending", stream=stream, group="busy") == 6
    assert gauge("videohooks_consumer_group_lag", stream=stream, group="busy") == 2
    assert dlq_report.stream == keys.dlq(0) and dlq_report.trimmed == 0


async def test_trim_undelivered_trims_by_age_whatever_the_groups_read(aredis: Redis, prefix: str) -> None:
    keys = KeySpace(prefix)
    stream = await old_entries_and_groups(aredis, keys)
    retention = RetentionConfig(min_age_seconds=600, trim_undelivered=True)
    [report, _] = await check_all(aredis, keys, retention)
    assert (report.trimmed, report.held_back, await aredis.xlen(stream)) == (5, 0, 3)
    assert {group.group: group.at_risk for group in report.groups}["slow"] is True


async def test_held_back_on_redis_6_2_whose_groups_report_no_lag(redis62_url: str, prefix: str) -> None:
    client = Redis.from_url(redis62_url)
    try:
        keys = KeySpace(prefix)
        publisher = Publisher(client, keys, 3600)
        for number in range(10):
            await publisher.publish(event(number))
        await client.xgroup_create(keys.events(0), "half", id="0")
        await client.xreadgroup("half", "c", {keys.events(0): ">"}, count=4)
        [report, _] = await check_all(client, keys, RetentionConfig(maxlen=2))
        assert [group.lag for group in report.groups] == [6]  # counted inside Redis: 6.2 reports none
        assert (report.trimmed, report.length, report.held_back) == (4, 6, 4)
    finally:
        await client.delete(keys.events(0), *[key async for key in client.scan_iter(f"{prefix}:*")])
        await client.aclose()


async def test_a_6_2_groups_lag_is_counted_past_one_page(redis62_url: str, prefix: str) -> None:
    """Redis 6.2 reports no lag: it is counted inside Redis a page of entries at a time, so a backlog
    longer than a page is counted whole."""
    client = Redis.from_url(redis62_url)
    stream = f"{prefix}:events"
    try:
        pipe = client.pipeline(transaction=False)
        for number in range(2_500):
            pipe.xadd(stream, {"event": str(number)})
        await pipe.execute()
        await client.xgroup_create(stream, "behind", id="0")
        await client.xreadgroup("behind", "c", {stream: ">"}, count=7)
        [raw] = await client.xinfo_groups(stream)
        info = {as_text(name): value for name, value in raw.items()}
        assert "entries-read" not in info  # what makes it count
        assert await group_lag(client, stream, info, as_text(info["last-delivered-id"])) == 2_493
    finally:
        await client.delete(stream)
        await client.aclose()


async def test_a_backlog_near_maxlen_is_flagged(aredis: Redis, prefix: str) -> None:
    keys = KeySpace(prefix)
    publisher = Publisher(aredis, keys, 3600)
    await asyncio.gather(*(publisher.publish(event(number)) for number in range(20)))
    await aredis.xgroup_create(keys.events(0), "behind", id="0")
    await aredis.xgroup_create(keys.events(0), "current", id="$")
    [report, _] = await check_all(aredis, keys, RetentionConfig(maxlen=20))
    assert {group.group: (group.lag, group.at_risk) for group in report.groups} == {
        "behind": (20, True),
        "current": (0, False),
    }
    assert report.trimmed == 0 and report.length == 20


def test_the_running_app_refreshes_stream_metrics(redis_url: str, prefix: str, rclient: redis.Redis) -> None:
    settings = config_dict(prefix, redis_url)
    settings["redis"] = {"url": redis_url, "prefix": prefix, "retention": {"check_interval_seconds": 0.1}}
    rclient.xadd(f"{prefix}:events", {"event": "{}"})
    rclient.xgroup_create(f"{prefix}:events", "dashboards", id="0")
    with TestClient(create_app(parse_config(settings))) as client:
        line = f'videohooks_consumer_group_lag{{group="dashboards",stream="{prefix}:events"}} 1.0'
        wait_until(lambda: line in client.get("/metrics").text, timeout=5)
        rclient.xadd(f"{prefix}:events", {"event": "{}"})
        line = f'videohooks_stream_length{{stream="{prefix}:events"}} 2.0'
        wait_until(lambda: line in client.get("/metrics").text, timeout=5)


def test_bad_retention_settings_are_refused_by_key() -> None:
    with pytest.raises(ConfigError, match=r"redis\.retention\.maxlen"):
        parse_config({"redis": {"retention": {"maxlen": -1}}})
    with pytest.raises(ConfigError, match=r"redis\.retention\.max_len: unknown key"):
        parse_config({"redis": {"retention": {"max_len": 10}}})


def test_the_console_overview_shows_held_back_entries(
    redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    settings = config_dict(prefix, redis_url)
    retention = {"maxlen": 2, "check_interval_seconds": 0.1}
    settings["redis"] = {"url": redis_url, "prefix": prefix, "retention": retention}
    for number in range(5):
        rclient.xadd(f"{prefix}:events", {"event": "{}"}, id=f"{1000 + number}-0")
    rclient.xgroup_create(f"{prefix}:events", "weekend", id="0")
    with TestClient(create_app(parse_config(settings))) as client:
        sign_in(client)
        row = re.compile(rf"<code>{prefix}:events</code></td>\s*<td class=\"num bad\">3</td>")
        wait_until(lambda: row.search(client.get("/console/").text) is not None, timeout=5)
        assert "videohooks_retention_held_back" in client.get("/metrics").text
    assert rclient.xlen(f"{prefix}:events") == 5
