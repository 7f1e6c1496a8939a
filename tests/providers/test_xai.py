"""xAI Grok Imagine: the status client against a fake xAI API (pytest-httpserver), the link's expiry,
and a watched request polled from an empty 202 to its video."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer

from receiver.config import ConfigError, parse_config
from receiver.core.decoding import decode_resource
from receiver.providers import PROVIDER_SCHEMAS, PROVIDERS
from receiver.providers.xai import XaiSource
from receiver.providers.xai.client import XaiClient
from schemas.event import event_to_dict
from schemas.normalizing import DeliveryContext
from tests.support import API_KEY, api_client, remote_error_of, stream_events
from tests.support.api import api_base, api_config, receiver_parts

REQUEST = "d9a6ab03-5f2e-4e3c-9b1f-2c7f0b6a1e44"
PATH = f"/v1/videos/{REQUEST}"
HEADERS = {"authorization": f"Bearer {API_KEY}"}
RECEIVED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
URL = "https://vidgen.x.ai/xai-vidgen-bucket/xai-video-f532feb6-49a9-4f9a-9a37-6e64ef725e8f.mp4"
DONE = {
    "status": "done",
    "video": {"url": URL, "duration": 6, "respect_moderation": True},
    "model": "grok-imagine-video",
    "usage": {"cost_in_usd_ticks": "3000000000"},
    "progress": 100,
}


def decoded(body: dict[str, Any]) -> dict[str, Any]:
    ctx = DeliveryContext("xai-main", "xai", RECEIVED)
    return event_to_dict(
        decode_resource(PROVIDER_SCHEMAS["xai"], orjson.dumps({"request_id": REQUEST, **body}), ctx)
    )


@pytest.fixture
async def xai(httpserver: HTTPServer) -> AsyncIterator[XaiClient]:
    source = XaiSource.model_validate(
        {"id": "xai-main", "provider": "xai", "api_key": API_KEY, "api_base_url": api_base(httpserver)}
    )
    client = api_client(source)
    assert isinstance(client, XaiClient)
    yield client
    await client.aclose()


@pytest.mark.parametrize(
    ("status", "body", "document"),
    [
        (202, b"", {"status": "pending"}),
        (202, b'{"status":"pending","progress":37}', {"status": "pending", "progress": 37}),
        (200, orjson.dumps(DONE), DONE),
        (200, b'{"status":"expired"}', {"status": "expired"}),
    ],
    ids=["empty-202", "pending-202", "done", "expired"],
)
async def test_the_answer_is_handed_on_with_its_request_id(
    status: int, body: bytes, document: dict[str, Any], httpserver: HTTPServer, xai: XaiClient
) -> None:
    httpserver.expect_request(PATH, method="GET", headers=HEADERS).respond_with_data(
        body, status=status, content_type="application/json"
    )
    assert orjson.loads(await xai.get_task(REQUEST)) == {**document, "request_id": REQUEST}
    httpserver.check_assertions()


@pytest.mark.parametrize(
    ("status", "body", "retryable"),
    [(404, b"{}", False), (401, b"{}", False), (429, b"{}", True), (500, b"{}", True), (200, b"", True)],
    ids=["unknown", "bad-key", "throttled", "error", "empty-200"],
)
async def test_errors_say_whether_to_retry(
    status: int, body: bytes, retryable: bool, httpserver: HTTPServer, xai: XaiClient
) -> None:
    httpserver.expect_request(PATH).respond_with_data(body, status=status)
    error = await remote_error_of(xai, REQUEST)
    assert error.retryable is retryable


def test_a_done_video_lives_24_hours_from_the_poll_and_reports_its_cost() -> None:
    event = decoded(DONE)
    assert event["status"] == "succeeded"
    assert event["model"] == "grok-imagine-video"
    assert [(a["kind"], a["url"], a["expires_at"]) for a in event["assets"]] == [
        ("video", URL, (RECEIVED + timedelta(hours=24)).isoformat().replace("+00:00", "Z"))
    ]
    assert event["extensions"] == {"progress": 100, "cost_usd": 0.3, "duration_seconds": 6}


def test_a_url_makes_a_success_whatever_the_moderation_flag_says() -> None:
    """`respect_moderation` is a protobuf bool: absent (or false) says nothing when there is a URL."""
    event = decoded({"status": "done", "video": {"url": URL}})
    assert event["status"] == "succeeded"
    assert event["error"] is None


def test_upper_case_statuses_are_the_sdks_words() -> None:
    assert decoded({"status": "PENDING"})["status"] == "running"
    assert decoded({"status": "FAILED"})["error"]["code"] == "failed"


def test_a_source_without_a_key_is_refused_and_the_default_rate_is_one_a_second() -> None:
    with pytest.raises(ConfigError, match="api_key"):
        parse_config({"sources": [{"id": "x", "provider": "xai"}]})
    assert PROVIDERS["xai"].api_rate_limit_per_second == 1.0


async def test_a_watched_request_is_polled_from_an_empty_202_to_its_video(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    answers = [(202, b""), (202, b'{"status":"pending","progress":50}'), (200, orjson.dumps(DONE))]
    for status, body in answers:
        httpserver.expect_ordered_request(PATH, headers=HEADERS).respond_with_data(body, status=status)
    config = api_config(prefix, redis_url, api_base(httpserver), api_rate_limit_per_second=100)
    async with receiver_parts(config, redis_url) as parts:
        assert await parts.watch("xai-main", REQUEST)
        await parts.run_until_idle()
    events = stream_events(rclient, f"{prefix}:events")
    assert [(event["task_id"], event["status"]) for event in events] == [
        (REQUEST, "running"),
        (REQUEST, "succeeded"),
    ]
    assert events[-1]["assets"][0]["url"] == URL
    assert len([request for request, _ in httpserver.log if request.path == PATH]) == 3
