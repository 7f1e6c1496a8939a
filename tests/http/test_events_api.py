"""`GET /v1/events`: newest first across partitions, exact-match filters, bounded limit and scan."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient

from receiver.config import Config, parse_config
from receiver.http.app import create_app
from receiver.services.events_view import EventQuery, latest_events
from receiver.wiring.connection import open_pipeline
from tests.support import ADMIN_HEADERS
from tests.support.config import config_dict
from tests.support.console import event, seed


@pytest.fixture(params=[1, 4], ids=["one-partition", "four-partitions"])
def config(request: pytest.FixtureRequest, prefix: str, redis_url: str, httpserver: HTTPServer) -> Config:
    data: dict[str, Any] = config_dict(prefix, redis_url, httpserver.url_for("").rstrip("/"))
    data["redis"]["partitions"] = request.param
    for source in data["sources"]:
        if "poll_interval_seconds" in source:
            source["poll_interval_seconds"] = 60
    return parse_config(data)


@pytest.fixture
def client(config: Config, redis_url: str) -> Iterator[TestClient]:
    seed(config, redis_url)
    with TestClient(create_app(config)) as test_client:
        yield test_client


def events(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/v1/events", params=params, headers=ADMIN_HEADERS)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["events"]
    return found


def test_newest_first_across_partitions(config: Config, redis_url: str) -> None:
    """Entry ids are publish times in ms: events a few ms apart come back in reverse publish order."""

    async def publish_apart() -> None:
        async with open_pipeline(config, redis_url) as (_, pipeline):
            for n in range(12):
                await pipeline.publisher.publish(event("memories-open", "memories", f"task-{n}", "queued"))
                await asyncio.sleep(0.003)

    asyncio.run(publish_apart())
    with TestClient(create_app(config)) as client:
        assert [found["task_id"] for found in events(client)] == [f"task-{n}" for n in reversed(range(12))]


def test_the_scenario_reads_back_whole(client: TestClient) -> None:
    found = events(client)
    assert len(found) == 8  # the scenario's events; the watched task adds none (its API answers 500)
    assert [event["status"] for event in found if event["task_id"] == "vid-7f3a"] == [
        "succeeded",
        "running",
        "queued",
    ]


def test_filters_match_exactly_and_combine(client: TestClient) -> None:
    assert {e["task_id"] for e in events(client, source="openai-main")} == {"video_68d2", "video_91aa"}
    assert {e["source"] for e in events(client, provider="openai-compatible")} == {"veo-relay"}
    assert [e["task_id"] for e in events(client, source="openai-main", status="running")] == ["video_91aa"]
    assert [e["status"] for e in events(client, task_id="vid-7f3a", limit=2)] == ["succeeded", "running"]
    assert events(client, source="openai-main", task_id="vid-7f3a") == []
    assert events(client, source="", status="") != []  # an empty value is no filter


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": "0"}, "invalid_limit"),
        ({"limit": "501"}, "invalid_limit"),
        ({"limit": "ten"}, "invalid_limit"),
        ({"limit": "-1"}, "invalid_limit"),
        ({"limit": "\uff15"}, "invalid_limit"),  # a digit, but not an ASCII one
        ({"status": "done"}, "invalid_status"),
    ],
)
def test_bad_values_are_400(client: TestClient, params: dict[str, str], code: str) -> None:
    answer = client.get("/v1/events", params=params, headers=ADMIN_HEADERS)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code


def test_needs_the_admin_token(client: TestClient) -> None:
    assert client.get("/v1/events").status_code == 401
    assert client.get("/v1/events", headers={"authorization": "Bearer nope"}).status_code == 401


def test_limit_defaults_to_50_and_caps_at_500(prefix: str, redis_url: str) -> None:
    config = parse_config(config_dict(prefix, redis_url))

    async def publish_many() -> None:
        async with open_pipeline(config, redis_url) as (_, pipeline):
            await asyncio.gather(
                *(
                    pipeline.publisher.publish(event("memories-open", "memories", f"t{n}", "queued"))
                    for n in range(600)
                )
            )

    asyncio.run(publish_many())
    with TestClient(create_app(config)) as client:
        assert len(events(client)) == 50
        assert len(events(client, limit=500)) == 500


def test_a_filter_matching_nothing_scans_a_bounded_number_of_entries(prefix: str, redis_url: str) -> None:
    """A match older than the scan bound is not found: the read stops instead of walking the stream."""
    config = parse_config(config_dict(prefix, redis_url))

    async def run() -> tuple[int, int]:
        async with open_pipeline(config, redis_url) as (redis, pipeline):
            await pipeline.publisher.publish(event("memories-open", "memories", "old", "queued"))
            for n in range(30):
                await pipeline.publisher.publish(event("memories-open", "memories", f"new{n}", "queued"))
            query = EventQuery(task_id="old")
            keys = pipeline.publisher.keys
            return len(await latest_events(redis, keys, query, max_scan=20)), len(
                await latest_events(redis, keys, query, max_scan=40)
            )

    assert asyncio.run(run()) == (0, 1)
