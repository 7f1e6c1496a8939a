"""TwelveLabs: the analyze-task client against a fake API (pytest-httpserver), and the fetched task
normalized with the webhook's notice."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime

import orjson
import pytest
from pytest_httpserver import HTTPServer

from receiver.clients.task_path import TaskPathClient, TaskRoutesClient
from receiver.core.decoding import decode, decode_resource
from receiver.providers import PROVIDER_SCHEMAS, PROVIDERS
from receiver.providers.twelvelabs import TwelveLabsSource
from schemas.normalizing import DeliveryContext
from tests.support import FIXTURES, api_client, free_port, hanging_json, remote_error_of

TASK_ID = "6707b5e1c2a3d4f5a6b7c8d9"
TASK_PATH = f"/v1.3/analyze/tasks/{TASK_ID}"
API_KEY = "tlk_test_0123456789"


def source(
    api_base_url: str, api_key: str | None = API_KEY, timeout_seconds: float = 10.0
) -> TwelveLabsSource:
    return TwelveLabsSource.model_validate(
        {
            "api_timeout_seconds": timeout_seconds,
            "id": "twelvelabs-main",
            "provider": "twelvelabs",
            "secrets": ["tl_test_secret"],
            "api_base_url": api_base_url,
            "api_key": api_key,
        }
    )


def fixture_body(name: str) -> bytes:
    return orjson.dumps(orjson.loads((FIXTURES / "twelvelabs" / f"{name}.json").read_bytes())["body"])


@pytest.fixture
async def client(httpserver: HTTPServer) -> AsyncIterator[TaskPathClient]:
    tl_client = api_client(source(httpserver.url_for("/")))
    assert isinstance(tl_client, TaskRoutesClient)
    yield tl_client.route("analysis")  # the analyze task's route; tests/jobs/test_one_truth.py has both
    await tl_client.aclose()


async def test_fetches_the_task_with_the_api_key(httpserver: HTTPServer, client: TaskPathClient) -> None:
    body = fixture_body("task-ready-stop")
    httpserver.expect_oneshot_request(
        TASK_PATH, method="GET", headers={"x-api-key": API_KEY}
    ).respond_with_data(body, content_type="application/json")
    fetched = await client.get_task(TASK_ID)
    httpserver.check_assertions()
    assert fetched == body
    event = decode_resource(
        PROVIDER_SCHEMAS["twelvelabs"],
        fetched,
        DeliveryContext("twelvelabs-main", "twelvelabs", datetime.now(UTC)),
    )
    assert (event.status, event.usage.total_tokens) == ("succeeded", 1872)


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_client_errors_are_final(httpserver: HTTPServer, client: TaskPathClient, status: int) -> None:
    httpserver.expect_oneshot_request(TASK_PATH).respond_with_json(
        {"code": "x", "message": "no"}, status=status
    )
    error = await remote_error_of(client, TASK_ID)
    assert error.retryable is False
    assert f"HTTP {status}" in str(error)


async def test_429_passes_on_retry_after_in_seconds(httpserver: HTTPServer, client: TaskPathClient) -> None:
    httpserver.expect_oneshot_request(TASK_PATH).respond_with_json(
        {}, status=429, headers={"Retry-After": "7"}
    )
    error = await remote_error_of(client, TASK_ID)
    assert (error.retryable, error.retry_after) == (True, 7.0)


async def test_429_passes_on_retry_after_as_http_date(httpserver: HTTPServer, client: TaskPathClient) -> None:
    later = format_datetime(datetime.fromtimestamp(time.time() + 120, UTC), usegmt=True)
    httpserver.expect_oneshot_request(TASK_PATH).respond_with_json(
        {}, status=429, headers={"Retry-After": later}
    )
    error = await remote_error_of(client, TASK_ID)
    assert error.retryable is True
    assert error.retry_after is not None
    assert 115 <= error.retry_after <= 120


async def test_server_errors_and_malformed_json_are_retryable(
    httpserver: HTTPServer, client: TaskPathClient
) -> None:
    httpserver.expect_oneshot_request(TASK_PATH).respond_with_data("upstream exploded", status=503)
    httpserver.expect_oneshot_request(TASK_PATH).respond_with_data(
        '{"task_id": "cut', content_type="application/json"
    )
    for expected in ("HTTP 503", "not JSON"):
        error = await remote_error_of(client, TASK_ID)
        assert (error.retryable, expected in str(error)) == (True, True)


async def test_timeout_is_retryable(httpserver: HTTPServer) -> None:
    with hanging_json(fixture_body("task-ready-stop")) as hanging:
        httpserver.expect_oneshot_request(TASK_PATH).respond_with_handler(hanging)
        async with aclosing(api_client(source(httpserver.url_for("/"), timeout_seconds=0.1))) as slow:
            error = await remote_error_of(slow, TASK_ID)
    assert (error.retryable, "timed out" in str(error)) == (True, True)


async def test_refused_connection_is_retryable() -> None:
    async with aclosing(api_client(source(f"http://127.0.0.1:{free_port()}"))) as unreachable:
        error = await remote_error_of(unreachable, TASK_ID)
    assert (error.retryable, "ConnectError" in str(error)) == (True, True)


def test_a_source_without_api_key_does_not_fetch() -> None:
    assert not PROVIDERS["twelvelabs"].fetches(source("https://api.twelvelabs.io", api_key=None))
    assert PROVIDERS["twelvelabs"].fetches(source("https://api.twelvelabs.io"))


def test_fetched_task_keeps_what_only_the_webhook_said() -> None:
    """A `ready` webhook with an error means truncated even when the task says `stop`; its custom id and
    delivery id carry over to the full event."""
    provider = PROVIDER_SCHEMAS["twelvelabs"]
    ctx = DeliveryContext("twelvelabs-main", "twelvelabs", datetime.now(UTC))
    notice = decode(provider, fixture_body("analyze-ready-with-error"), ctx)
    task = orjson.loads(fixture_body("task-ready-stop"))
    task["task_id"] = notice.task_id
    event = decode_resource(provider, orjson.dumps(task), replace(ctx, notice=notice))
    assert event.event_id == notice.event_id
    assert (event.status, event.truncated, event.delivery_id) == ("succeeded", True, "whe_trunc_0001")
    assert event.text is not None and event.text.startswith("A man walks a dog")
    assert event.extensions == {
        "custom_id": "clip-42",
        "truncation_message": "The response exceeded max_tokens and was truncated.",
        "generation_id": "gen_5f1d3c2b",
        "finish_reason": "stop",
    }
