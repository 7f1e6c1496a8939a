"""DashScope: the task client against a fake DashScope API (pytest-httpserver), region time zones, and
watched tasks polled to their end (or to the deadline when DashScope does not know them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer

from receiver.config import ConfigError, parse_config
from receiver.core.decoding import decode_resource
from receiver.foundation.errors import Quarantine
from receiver.providers import PROVIDER_SCHEMAS, PROVIDERS
from receiver.providers.dashscope import DashscopeSource
from receiver.providers.dashscope.client import DashscopeClient
from schemas.event import event_to_dict
from schemas.normalizing import DeliveryContext
from tests.support import API_KEY, FIXTURES, api_client, remote_error_of, stream_events
from tests.support.api import api_base, api_config, receiver_parts

TASK = "0385dc79-5ff8-4d82-bcb6-4a1b2c3d4e5f"
PATH = f"/api/v1/tasks/{TASK}"
AUTH = {"authorization": f"Bearer {API_KEY}"}


def stored(name: str) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads((FIXTURES / "dashscope" / f"{name}.json").read_bytes())["body"]
    return body


def unknown() -> dict[str, Any]:
    return {"request_id": "r-unknown", "output": {"task_id": TASK, "task_status": "UNKNOWN"}}


def source(api_base_url: str, **keys: Any) -> DashscopeSource:
    data = {"id": "dashscope-main", "provider": "dashscope", "api_key": API_KEY, "api_base_url": api_base_url}
    return DashscopeSource.model_validate({**data, **keys})


def decoded(body: dict[str, Any]) -> dict[str, Any]:
    ctx = DeliveryContext("dashscope-main", "dashscope", datetime.now(UTC))
    return event_to_dict(decode_resource(PROVIDER_SCHEMAS["dashscope"], orjson.dumps(body), ctx))


@pytest.fixture
async def dashscope(httpserver: HTTPServer) -> AsyncIterator[DashscopeClient]:
    client = api_client(source(api_base(httpserver), time_zone="America/New_York"))
    assert isinstance(client, DashscopeClient)
    yield client
    await client.aclose()


async def test_the_task_is_read_with_the_key_and_the_source_zone_added(
    httpserver: HTTPServer, dashscope: DashscopeClient
) -> None:
    httpserver.expect_request(PATH, method="GET", headers=AUTH).respond_with_json(stored("running"))
    document = orjson.loads(await dashscope.get_task(TASK))
    assert document == {**stored("running"), "time_zone": "America/New_York"}
    # 19:58:05.066 in New York in November (EST, UTC-5) is 00:58:05.066 UTC the next day.
    assert decoded(document)["occurred_at"] == "2026-11-21T00:58:05.066000Z"


async def test_unknown_is_not_found(httpserver: HTTPServer, dashscope: DashscopeClient) -> None:
    httpserver.expect_request(PATH).respond_with_json(unknown())
    error = await remote_error_of(dashscope, TASK)
    assert (error.retryable, error.status) == (False, 404)
    assert "UNKNOWN" in str(error)


async def test_http_errors_say_whether_to_retry(httpserver: HTTPServer, dashscope: DashscopeClient) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_json(
        {"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded"}, status=429
    )
    httpserver.expect_oneshot_request(PATH).respond_with_json(
        {"code": "InvalidApiKey", "message": "Invalid API-key provided."}, status=401
    )
    throttled = await remote_error_of(dashscope, TASK)
    refused = await remote_error_of(dashscope, TASK)
    assert (throttled.retryable, refused.retryable) == (True, False)


@pytest.mark.parametrize(
    ("keys", "message"),
    [({"api_key": None}, "api_key"), ({"time_zone": "Beijing"}, "time_zone")],
)
def test_bad_sources_are_refused_by_key(keys: dict[str, Any], message: str) -> None:
    data = {"id": "d", "provider": "dashscope", "api_key": API_KEY, **keys}
    with pytest.raises(ConfigError, match=message):
        parse_config({"sources": [{key: value for key, value in data.items() if value is not None}]})


def test_unknown_reaching_the_normalizer_is_never_published() -> None:
    with pytest.raises(Quarantine) as caught:
        decoded(unknown())
    assert caught.value.reason == "unknown_status"


def test_the_result_api_limit_is_the_default_rate() -> None:
    assert PROVIDERS["dashscope"].api_rate_limit_per_second == 20


async def test_a_watched_task_is_polled_to_its_end(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    for name in ("pending", "running", "running", "succeeded"):
        httpserver.expect_ordered_request(PATH, headers=AUTH).respond_with_json(stored(name))
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        assert await parts.watch("dashscope-main", TASK)
        await parts.run_until_idle()
    events = stream_events(rclient, f"{prefix}:events")
    assert [event["status"] for event in events] == ["queued", "running", "succeeded"]
    [asset] = events[-1]["assets"]
    assert asset["expires_at"] == "2026-11-21T12:00:41Z"
    assert events[-1]["extensions"]["video_duration"] == 5
    assert len(httpserver.log) == 4


async def test_a_task_dashscope_does_not_know_ends_at_the_deadline_never_succeeded(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(PATH).respond_with_json(unknown())
    config = api_config(prefix, redis_url, api_base(httpserver), deadline_seconds=0.4)
    async with receiver_parts(config, redis_url) as parts:
        await parts.watch("dashscope-main", TASK)
        await parts.run_until_idle()
    [failed] = stream_events(rclient, f"{prefix}:events")
    assert (failed["status"], failed["error"]["code"]) == ("failed", "not_found")
    assert "UNKNOWN" in failed["error"]["message"]
    assert rclient.xlen(f"{prefix}:dlq") == 0
    assert len(httpserver.log) >= 2  # asked again before giving up
