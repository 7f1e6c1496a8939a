"""Runway: the task client against a fake Runway API (pytest-httpserver), the expiry of output links,
and a watched task polled to its end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer

from receiver.clients.task_path import TaskPathClient
from receiver.config import ConfigError, parse_config
from receiver.core.decoding import decode_resource
from receiver.providers import PROVIDER_SCHEMAS
from receiver.providers.runway import RunwaySource
from schemas.event import event_to_dict
from schemas.normalizing import DeliveryContext
from tests.support import API_KEY, FIXTURES, api_client, remote_error_of, stream_events, v1_assets
from tests.support.api import api_base, api_config, receiver_parts

TASK = "17f20503-6c24-4c16-946b-35dbbce2af2f"
PATH = f"/v1/tasks/{TASK}"
HEADERS = {"authorization": f"Bearer {API_KEY}", "x-runway-version": "2024-11-06"}
RECEIVED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def stored(name: str) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads((FIXTURES / "runway" / f"{name}.json").read_bytes())["body"]
    return body


def decoded(body: dict[str, Any]) -> dict[str, Any]:
    ctx = DeliveryContext("runway-main", "runway", RECEIVED)
    return event_to_dict(decode_resource(PROVIDER_SCHEMAS["runway"], orjson.dumps(body), ctx))


@pytest.fixture
async def runway(httpserver: HTTPServer) -> AsyncIterator[TaskPathClient]:
    source = RunwaySource.model_validate(
        {"id": "runway-main", "provider": "runway", "api_key": API_KEY, "api_base_url": api_base(httpserver)}
    )
    client = api_client(source)
    assert isinstance(client, TaskPathClient)
    yield client
    await client.aclose()


async def test_the_task_is_read_with_the_key_and_the_pinned_version(
    httpserver: HTTPServer, runway: TaskPathClient
) -> None:
    httpserver.expect_request(PATH, method="GET", headers=HEADERS).respond_with_json(stored("succeeded"))
    assert orjson.loads(await runway.get_task(TASK)) == stored("succeeded")
    httpserver.check_assertions()


@pytest.mark.parametrize(("status", "retryable"), [(401, False), (404, False), (429, True), (500, True)])
async def test_errors_say_whether_to_retry(
    status: int, retryable: bool, httpserver: HTTPServer, runway: TaskPathClient
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"error": "no"}, status=status, headers={"retry-after": "7"}
    )
    error = await remote_error_of(runway, TASK)
    assert (error.retryable, error.status) == (retryable, status)
    if retryable:
        assert error.retry_after == 7


def test_a_source_without_a_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="api_key"):
        parse_config({"sources": [{"id": "r", "provider": "runway"}]})


def test_a_link_without_a_readable_expiry_lives_24_hours_from_the_poll() -> None:
    for url in (
        "https://dnznrvs05pmza.cloudfront.net/abc/output.mp4",
        "https://dnznrvs05pmza.cloudfront.net/abc/output.mp4?_jwt=not-a-jwt",
        "https://dnznrvs05pmza.cloudfront.net/abc/output.mp4?_jwt=a.!!!.c",
        "https://dnznrvs05pmza.cloudfront.net/abc/output.mp4?_jwt=a.eyJleHAiOiJzb29uIn0.c",  # exp: "soon"
    ):
        event = decoded({"id": TASK, "status": "SUCCEEDED", "output": [url]})
        assert v1_assets(event) == [
            {
                "kind": "video",
                "url": url,
                "expires_at": (RECEIVED + timedelta(hours=24)).isoformat().replace("+00:00", "Z"),
            }
        ]


def test_a_signed_link_expires_at_its_exp_claim() -> None:
    event = decoded(stored("succeeded"))
    assert event["assets"][0]["expires_at"] == "2026-11-23T00:00:00Z"


async def test_a_watched_task_is_polled_to_its_end(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    for name in ("pending", "throttled", "running", "running", "succeeded"):
        httpserver.expect_ordered_request(PATH, headers=HEADERS).respond_with_json(stored(name))
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        assert await parts.watch("runway-main", TASK)
        await parts.run_until_idle()
    events = stream_events(rclient, f"{prefix}:events")
    assert [event["status"] for event in events] == ["queued", "running", "succeeded"]
    assert events[1]["extensions"]["progress"] == 0.42
    assert events[-1]["extensions"]["credits"] == 50
    assert events[-1]["assets"][0]["url"].startswith(
        "https://dnznrvs05pmza.cloudfront.net/abc/output.mp4?_jwt="
    )
    assert len(httpserver.log) == 5
