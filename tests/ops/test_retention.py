"""Retention: MAXLEN on every append, MINID trimming by age, stream metrics, and the at-risk warning."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from starlette.testclient import TestClient

from receiver.config import ConfigError, RetentionConfig, parse_config
from receiver.core.publisher import Publisher
from receiver.foundation.keys import KeySpace
from receiver.http.app import create_app
from receiver.services.retention import check_all
from receiver.wiring.connection import open_pipeline
from schemas.event import CanonicalEvent
from schemas.normalizing import DeliveryContext, build_event
from tests.support.config import config_dict
from tests.support.waiting import wait_until


def event(number: int) -> CanonicalEvent:
    ctx = DeliveryContext("ret-src", "memories", datetime.now(UTC), None)
    return build_event(ctx, task_id=f"t-{number}", task_type="description", status="succeeded")


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_maxlen_from_config_caps_the_stream_on_every_append(
    redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    settings = config_dict(prefix, redis_url)
    settings["redis"] = {"url": redis_url, "prefix": prefix, "retention": {"maxlen": 50}}
    async with open_pipeline(parse_config(settings)) as (_, pipeline):
        await asyncio.gather(*(pipeline.publisher.publish(event(number)) for number in range(400)))
    length = rclient.xlen(f"{prefix}:events")
    # Approximate trimming drops whole radix-tree nodes (100 entries by default): never below the cap.
    assert 50 <= length < 400


async def test_min_age_trims_old_entries_and_flags_a_group_that_has_not_read_them(
    aredis: Redis, prefix: str
) -> None:
    keys = KeySpace(prefix)
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

    [events_report, dlq_report] = await check_all(aredis, keys, RetentionConfig(min_age_seconds=600))
    assert events_report.trimmed == 5
    assert await aredis.xlen(stream) == 3
    risk = {group.group: group.at_risk for group in events_report.groups}
    assert risk == {"slow": True, "fast": False, "busy": False}
    assert gauge("videohooks_retention_at_risk", stream=stream, group="slow") == 1
    assert gauge("videohooks_retention_at_risk", stream=stream, group="busy") == 0
    assert gauge("videohooks_stream_length", stream=stream) == 3
    assert gauge("videohooks_consumer_group_pending", stream=stream, group="busy") == 6
    assert gauge("videohooks_consumer_group_lag", stream=stream, group="busy") == 2
    assert dlq_report.stream == keys.dlq(0) and dlq_report.trimmed == 0


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
