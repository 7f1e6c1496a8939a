"""Fetch-on-notify against `httpserver` playing OpenAI's videos API, well-behaved and not."""

from __future__ import annotations

import time

import orjson
import pytest
import redis
from prometheus_client import REGISTRY
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient
from werkzeug import Response

from receiver.foundation.errors import RedisUnavailable
from receiver.http.app import create_app
from receiver.verifiers.standard_webhooks import StandardWebhooks
from tests.support import API_KEY, WHSEC, free_port, hanging_json, read_stream, stream_events
from tests.support.api import api_base, api_config, receiver_parts, video, webhook
from tests.support.waiting import wait_until

VIDEO = "video_fetch_1"
PATH = f"/v1/videos/{VIDEO}"


def fetch_failures(source: str) -> float:
    return REGISTRY.get_sample_value("videohooks_fetch_failures_total", {"source": source}) or 0.0


async def test_the_fetched_video_is_published_not_the_webhook(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(PATH, headers={"authorization": f"Bearer {API_KEY}"}).respond_with_json(
        video(VIDEO)
    )
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        outcome = await parts.deliver("openai-main", webhook(VIDEO), "msg_f1")
        assert outcome.status == "accepted"
        # Acknowledged once the job is durable; nothing is published before the fetch.
        assert await parts.queue.count("fetch") == 1
        assert stream_events(rclient, f"{prefix}:events") == []
        await parts.run_until_idle()
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["status"], event["model"], event["delivery_id"]) == ("succeeded", "sora-2", "msg_f1")
    assert event["event_id"] == outcome.event_id
    assert event["assets"][0]["url"] == f"{api_base(httpserver)}/v1/videos/{VIDEO}/content"


async def test_webhook_retries_while_pending_and_after_publication_are_duplicates(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(PATH).respond_with_json(video(VIDEO))
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        first = await parts.deliver("openai-main", webhook(VIDEO), "msg_r1")
        pending = await parts.deliver("openai-main", webhook(VIDEO), "msg_r1")
        assert (first.status, pending.status) == ("accepted", "duplicate")
        assert await parts.queue.count() == 1
        await parts.run_until_idle()
        after_same = await parts.deliver("openai-main", webhook(VIDEO), "msg_r1")
        after_other_id = await parts.deliver("openai-main", webhook(VIDEO), "msg_r2")
        assert (after_same.status, after_other_id.status) == ("duplicate", "duplicate")
        assert await parts.queue.count() == 0
    assert len(stream_events(rclient, f"{prefix}:events")) == 1
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_errors_retrying_cannot_fix_publish_the_webhook_event_with_fetch_failed(
    status: int, httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"error": {"message": "Incorrect API key provided"}}, status=status
    )
    before = fetch_failures("openai-main")
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        await parts.deliver("openai-main", webhook(VIDEO, "video.failed"), "msg_e")
        assert await parts.runner.run_due() == 1
        # The fetch is over; the incomplete event's task is watched, to be completed when the API answers.
        assert (await parts.queue.count("fetch"), await parts.queue.count("poll")) == (0, 1)
    [event] = stream_events(rclient, f"{prefix}:events")
    assert event["status"] == "failed"  # what the webhook said
    assert event["error"]["code"] == "fetch_failed"
    assert f"HTTP {status}" in event["error"]["message"]
    assert len(httpserver.log) == 1
    assert fetch_failures("openai-main") == before + 1


async def test_429_waits_for_retry_after(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(PATH).respond_with_data("slow down", status=429, headers={"retry-after": "30"})
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        await parts.deliver("openai-main", webhook(VIDEO), "msg_429")
        await parts.runner.run_due()
        due_ms = rclient.zscore(
            f"{prefix}:{{jobs}}:due", next(iter(rclient.hkeys(f"{prefix}:{{jobs}}:data")))
        )
        # The retry waits the provider's 30 s, not the source's 0.05 s first retry.
        assert due_ms is not None and due_ms / 1000 >= time.time() + 29
        assert await parts.runner.run_due() == 0
    assert stream_events(rclient, f"{prefix}:events") == []


@pytest.mark.parametrize(
    "first",
    [
        Response("upstream down", status=500),
        Response('{"id": "video_fetch_1", "status": ', status=200, content_type="application/json"),
    ],
    ids=["500", "malformed-json"],
)
async def test_passing_failures_are_retried_until_the_fetch_succeeds(
    first: Response, httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_response(first)
    httpserver.expect_request(PATH).respond_with_json(video(VIDEO))
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        await parts.deliver("openai-main", webhook(VIDEO), "msg_p")
        await parts.run_until_idle()
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["status"], event["error"], event["model"]) == ("succeeded", None, "sora-2")
    assert len(httpserver.log) == 2


async def test_a_video_lagging_behind_its_webhook_is_fetched_again(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_json(video(VIDEO, "in_progress", progress=99))
    httpserver.expect_request(PATH).respond_with_json(video(VIDEO))
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        await parts.deliver("openai-main", webhook(VIDEO), "msg_lag")
        await parts.run_until_idle()
    assert [event["status"] for event in stream_events(rclient, f"{prefix}:events")] == ["succeeded"]


async def test_timeouts_past_the_fetch_deadline_publish_fetch_failed(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    # The deadline leaves room for a retry after a first attempt that starts late (its API client is
    # made then, which a busy machine can take a few tenths of a second over).
    config = api_config(
        prefix, redis_url, api_base(httpserver), api_timeout_seconds=0.1, fetch_deadline_seconds=0.6
    )
    with hanging_json(orjson.dumps(video(VIDEO))) as hanging:
        httpserver.expect_request(PATH).respond_with_handler(hanging)
        async with receiver_parts(config, redis_url) as parts:
            await parts.deliver("openai-main", webhook(VIDEO), "msg_slow")
            await parts.run_until_idle()
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["status"], event["model"], event["delivery_id"]) == ("succeeded", None, "msg_slow")
    assert event["error"]["code"] == "fetch_failed"
    assert "timed out" in event["error"]["message"]
    assert "0.6 s after the webhook" in event["error"]["message"]
    # Retried before the deadline (the server logs each request as it answers it, once released).
    wait_until(lambda: len(httpserver.log) >= 2, timeout=2)


async def test_a_fetched_body_no_schema_accepts_is_quarantined_and_the_webhook_event_published(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    odd = orjson.dumps(video(VIDEO, "archived"))
    httpserver.expect_request(PATH).respond_with_data(odd, content_type="application/json")
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        await parts.deliver("openai-main", webhook(VIDEO), "msg_q")
        await parts.run_until_idle()
    # The fetch kept it; the watch that followed the incomplete event met it again and kept it once.
    fields = read_stream(rclient, f"{prefix}:dlq")[0][1]
    assert (fields[b"source"], fields[b"reason"], fields[b"body"]) == (b"openai-main", b"unknown_status", odd)
    assert orjson.loads(fields[b"headers"]) == {"webhook-id": "msg_q"}
    [event] = stream_events(rclient, f"{prefix}:events")
    assert event["error"]["code"] == "fetch_failed"
    assert "dead-letter" in event["error"]["message"]


def signed(body: bytes, msg_id: str) -> dict[str, str]:
    return StandardWebhooks([WHSEC], 300).sign(body, time.time(), msg_id).headers


def test_a_fetch_job_survives_a_restart_of_the_receiver(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    # The API is down while the first receiver runs: its job keeps failing and stays in Redis.
    httpserver.expect_request(PATH).respond_with_data("maintenance", status=503)
    config = api_config(prefix, redis_url, api_base(httpserver))
    body = webhook(VIDEO)
    with TestClient(create_app(config)) as first:
        answer = first.post("/v1/callbacks/openai-main", content=body, headers=signed(body, "msg_restart"))
        assert answer.status_code == 202
        assert answer.json()["status"] == "accepted"
        wait_until(lambda: len(httpserver.log) >= 1)
    assert rclient.hlen(f"{prefix}:{{jobs}}:data") == 1
    assert stream_events(rclient, f"{prefix}:events") == []

    httpserver.clear()
    httpserver.expect_request(PATH).respond_with_json(video(VIDEO))
    with TestClient(create_app(config)):
        wait_until(lambda: rclient.xlen(f"{prefix}:events") == 1, timeout=5)
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["status"], event["model"], event["error"]) == ("succeeded", "sora-2", None)
    assert rclient.hlen(f"{prefix}:{{jobs}}:data") == 0


async def test_the_callback_is_not_acknowledged_when_the_fetch_job_cannot_be_stored(
    httpserver: HTTPServer, prefix: str
) -> None:
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    async with receiver_parts(api_config(prefix, unreachable, api_base(httpserver)), unreachable) as parts:
        with pytest.raises(RedisUnavailable):
            await parts.deliver("openai-main", webhook(VIDEO), "msg_down")
    assert httpserver.log == []
