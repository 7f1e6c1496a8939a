"""Never lose a task: watches of callback sources, reconciliation of lost callbacks, the shared budget.

`httpserver` plays OpenAI's videos API; `receiver_parts` drives the job runner one run at a time against
the real Redis, so each test decides when the reconcile timer has run out.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import redis
from prometheus_client import REGISTRY
from pytest_httpserver import HTTPServer

from receiver.core.budget import ApiBudget
from receiver.flow.poll import poll_job_id
from schemas.normalizing import DeliveryContext, build_event
from tests.support import stream_events
from tests.support.api import api_base, api_config, receiver_parts, video, webhook

VIDEO = "video_lost_1"
PATH = f"/v1/videos/{VIDEO}"


def reconciled(source: str) -> float:
    return REGISTRY.get_sample_value("videohooks_reconciled_publications_total", {"source": source}) or 0.0


async def test_a_lost_callback_is_reconciled_into_exactly_one_event(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(PATH).respond_with_json(video(VIDEO))
    config = api_config(prefix, redis_url, api_base(httpserver), reconcile_after_seconds=60)
    before = reconciled("openai-main")
    async with receiver_parts(config, redis_url) as parts:
        assert await parts.watch("openai-main", VIDEO)
        # The callbacks get their time first: nothing is asked of the API before it runs out.
        assert await parts.runner.run_due() == 0
        assert httpserver.log == []
        parts.clock.advance(60)
        await parts.run_until_idle()
    events = [event for event in stream_events(rclient, f"{prefix}:events") if event["task_id"] == VIDEO]
    assert [event["status"] for event in events] == ["succeeded"]
    assert len(httpserver.log) == 1
    assert reconciled("openai-main") == before + 1


async def test_a_task_whose_final_status_came_by_callback_is_never_polled(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(PATH).respond_with_json(video(VIDEO))
    config = api_config(prefix, redis_url, api_base(httpserver), reconcile_after_seconds=60)
    async with receiver_parts(config, redis_url) as parts:
        await parts.watch("openai-main", VIDEO)
        await parts.deliver("openai-main", webhook(VIDEO), "msg_cb")
        assert await parts.runner.run_due() == 1  # the webhook's fetch (one GET), published
        parts.clock.advance(60)
        await parts.run_until_idle()  # the watch finds the final status and ends without a poll
    assert [event["status"] for event in stream_events(rclient, f"{prefix}:events")] == ["succeeded"]
    assert len(httpserver.log) == 1


async def test_a_non_final_callback_starts_the_watch_by_itself(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    config = api_config(prefix, redis_url, api_base(httpserver), reconcile_after_seconds=600)
    async with receiver_parts(config, redis_url) as parts:
        ctx = DeliveryContext("openai-main", "openai", datetime.now(UTC))
        running = build_event(ctx, task_id=VIDEO, task_type="generation", status="running")
        assert (await parts.pipeline.release(running, "a callback")).status == "accepted"
        job = await parts.queue.get(poll_job_id("openai-main", VIDEO))
        assert job is not None and job.payload["reconciling"] is False
        due = await parts.queue.due(poll_job_id("openai-main", VIDEO))
        assert due is not None and due > time.time() + 590
        # A source that turned it off, or one with no API, starts nothing.
        other = build_event(ctx, task_id="video_other", task_type="generation", status="succeeded")
        await parts.pipeline.release(other, "a callback")
        assert await parts.queue.get(poll_job_id("openai-main", "video_other")) is None


async def test_watches_survive_a_restart(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request("/v1/videos/relay-1").respond_with_json(video("relay-1"))
    config = api_config(prefix, redis_url, api_base(httpserver))
    async with receiver_parts(config, redis_url) as first:
        await first.watch("veo-relay", "relay-1")
    async with receiver_parts(config, redis_url) as second:  # a new process, the same Redis
        await second.run_until_idle()
    assert [event["task_id"] for event in stream_events(rclient, f"{prefix}:events")] == ["relay-1"]


async def test_a_429_pauses_that_source_only(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request("/v1/videos/relay-2").respond_with_json(
        {"error": "slow down"}, status=429, headers={"retry-after": "30"}
    )
    config = api_config(prefix, redis_url, api_base(httpserver))
    async with receiver_parts(config, redis_url) as parts:
        await parts.watch("veo-relay", "relay-2")
        await parts.runner.run_due()
        budget = ApiBudget(parts.redis, prefix)
        relay, openai = config.source("veo-relay"), config.source("openai-main")
        assert relay is not None and openai is not None
        assert await budget.reserve_for(relay) > 25
        assert await budget.reserve_for(openai) == 0


async def test_a_task_the_api_never_knew_ends_not_found_at_the_deadline(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request("/v1/videos/relay-3").respond_with_json({"error": "no such"}, status=404)
    config = api_config(prefix, redis_url, api_base(httpserver), deadline_seconds=0.3)
    async with receiver_parts(config, redis_url) as parts:
        await parts.watch("veo-relay", "relay-3")
        await parts.run_until_idle(timeout=5)
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["status"], event["error"]["code"]) == ("failed", "not_found")
    # Polled at the source's pace until the deadline, not in a tight loop.
    assert 2 <= len(httpserver.log) <= 8


async def test_a_rejected_key_is_logged_once_and_asked_again_slowly(
    httpserver: HTTPServer, redis_url: str, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_request("/v1/videos/relay-4").respond_with_json({"error": "bad key"}, status=401)
    config = api_config(prefix, redis_url, api_base(httpserver), max_interval_seconds=120)
    async with receiver_parts(config, redis_url) as parts:
        for task in ("relay-4", "relay-5"):
            await parts.watch("veo-relay", task)
        httpserver.expect_request("/v1/videos/relay-5").respond_with_json({"error": "bad key"}, status=401)
        await parts.runner.run_due()
        for task in ("relay-4", "relay-5"):
            due = await parts.queue.due(poll_job_id("veo-relay", task))
            assert due is not None and due > time.time() + 100
    assert capsys.readouterr().out.count("api.key_rejected") == 1
