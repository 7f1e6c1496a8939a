"""Watched tasks of poll-only sources: registration (admin route, CLI) and polling a relay that misbehaves."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import redis
from prometheus_client import REGISTRY
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient
from typer.testing import CliRunner

from receiver.cli import app as cli
from receiver.config import parse_config
from receiver.core.jobs import JobQueue
from receiver.flow.poll import poll_job_id, refresh_watched_gauge
from receiver.http.app import create_app
from receiver.providers import PROVIDERS
from tests.support import ADMIN_HEADERS, API_KEY, stream_events
from tests.support.api import api_base, api_config, receiver_parts, video
from tests.support.config import config_dict

TASK = "83319f9e-1c2d-4e5f-9a0b-5c6d7e8f9a0b"
PATH = f"/v1/videos/{TASK}"


def relay(status: str, **fields: object) -> dict[str, object]:
    """A relay's video object: milliseconds, an aspect ratio, no progress."""
    body = video(TASK, status, model="veo3.1", created_at=1764849835123, size="16:9", **fields)
    del body["progress"]
    return body


def metric(name: str, source: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"source": source, **labels}) or 0.0


def test_every_poll_only_provider_can_be_polled() -> None:
    for provider in PROVIDERS.values():
        if provider.callbacks is None:
            assert provider.schemas.resource_versions, provider.id
            assert provider.schemas.task_types, provider.id


def test_registering_twice_is_idempotent(client: TestClient, rclient: redis.Redis, prefix: str) -> None:
    first = client.post("/v1/sources/veo-relay/tasks", json={"task_id": TASK}, headers=ADMIN_HEADERS)
    again = client.post("/v1/sources/veo-relay/tasks", json={"task_id": TASK}, headers=ADMIN_HEADERS)
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json() == {"status": "watching", "source": "veo-relay", "task_id": TASK}
    assert again.json()["status"] == "already_watching"
    assert rclient.hkeys(f"{prefix}:{{jobs}}:data") == [poll_job_id("veo-relay", TASK).encode()]


@pytest.mark.parametrize(
    ("source", "body", "headers", "status", "code"),
    [
        ("veo-relay", {"task_id": TASK}, {}, 401, "invalid_token"),
        ("veo-relay", {"task_id": TASK}, {"authorization": "Bearer wrong"}, 401, "invalid_token"),
        ("nope", {"task_id": TASK}, ADMIN_HEADERS, 404, "unknown_source"),
        ("memories-main", {"task_id": TASK}, ADMIN_HEADERS, 409, "not_pollable"),
        ("veo-relay", {}, ADMIN_HEADERS, 422, "invalid_request"),
        ("veo-relay", {"task_id": ""}, ADMIN_HEADERS, 422, "invalid_request"),
        ("veo-relay", {"task_id": "a/../b"}, ADMIN_HEADERS, 422, "invalid_request"),
        ("veo-relay", {"task_id": TASK, "extra": 1}, ADMIN_HEADERS, 422, "invalid_request"),
        ("veo-relay", {"task_id": TASK, "task_type": "indexing"}, ADMIN_HEADERS, 422, "invalid_request"),
        ("veo-relay", {"task_id": TASK, "task_type": "cooking"}, ADMIN_HEADERS, 422, "invalid_request"),
        ("veo-relay", [TASK], ADMIN_HEADERS, 422, "invalid_request"),
    ],
)
def test_bad_registrations_are_refused_with_a_code(
    source: str,
    body: object,
    headers: dict[str, str],
    status: int,
    code: str,
    client: TestClient,
    rclient: redis.Redis,
    prefix: str,
) -> None:
    response = client.post(f"/v1/sources/{source}/tasks", json=body, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert rclient.hlen(f"{prefix}:{{jobs}}:data") == 0


@pytest.mark.parametrize("body", [b"{", b"task_id=x", b"\xff"])
def test_a_body_that_is_not_json_is_400_not_422(body: bytes, client: TestClient) -> None:
    response = client.post("/v1/sources/veo-relay/tasks", content=body, headers=ADMIN_HEADERS)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_json",
        "message": 'the body is not JSON: expected {"task_id": "..."}',
    }


def test_a_null_task_type_is_refused_not_read_as_left_out(
    client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    response = client.post(
        "/v1/sources/veo-relay/tasks", json={"task_id": TASK, "task_type": None}, headers=ADMIN_HEADERS
    )
    assert response.status_code == 422
    assert "leave task_type out to try each kind" in response.json()["error"]["message"]
    assert rclient.hlen(f"{prefix}:{{jobs}}:data") == 0


def test_the_admin_route_is_off_without_a_token(prefix: str, redis_url: str) -> None:
    data = config_dict(prefix, redis_url)
    del data["admin"]
    with TestClient(create_app(parse_config(data))) as client:
        response = client.post("/v1/sources/veo-relay/tasks", json={"task_id": TASK}, headers=ADMIN_HEADERS)
    assert response.status_code == 404


async def test_each_new_status_is_published_once_until_the_final_one(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    for status in ("queued", "queued", "in_progress", "in_progress"):
        httpserver.expect_ordered_request(PATH).respond_with_json(relay(status))
    httpserver.expect_ordered_request(PATH).respond_with_json(relay("completed"))
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        assert await parts.watch("veo-relay", TASK)
        await parts.run_until_idle()
    events = stream_events(rclient, f"{prefix}:events")
    assert [event["status"] for event in events] == ["queued", "running", "succeeded"]
    assert events[-1]["assets"][0]["url"] == f"{api_base(httpserver)}{PATH}/content"
    assert all(event["provider"] == "openai-compatible" for event in events)
    assert len(httpserver.log) == 5
    for request, _ in httpserver.log:
        assert request.headers["authorization"] == f"Bearer {API_KEY}"


async def test_a_relay_stuck_in_queued_ends_at_the_deadline(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(PATH).respond_with_json(relay("queued"))
    config = api_config(prefix, redis_url, api_base(httpserver), deadline_seconds=0.4)
    async with receiver_parts(config, redis_url) as parts:
        await parts.watch("veo-relay", TASK)
        await parts.run_until_idle()
    queued, failed = stream_events(rclient, f"{prefix}:events")
    assert queued["status"] == "queued"
    assert (failed["status"], failed["task_type"], failed["model"]) == ("failed", "generation", "veo3.1")
    assert failed["error"]["code"] == "deadline_exceeded"
    assert "last status seen: queued" in failed["error"]["message"]
    assert len(httpserver.log) >= 3  # polled again and again before giving up


async def test_polls_back_off_by_half_up_to_the_cap(
    httpserver: HTTPServer, redis_url: str, prefix: str
) -> None:
    httpserver.expect_request(PATH).respond_with_json(relay("in_progress"))
    config = api_config(
        prefix, redis_url, api_base(httpserver), poll_interval_seconds=0.01, max_interval_seconds=0.02
    )
    async with receiver_parts(config, redis_url) as parts:
        await parts.watch("veo-relay", TASK)
        intervals = []
        for _ in range(3):
            await parts.runner.run_due()
            job = await parts.queue.get(poll_job_id("veo-relay", TASK))
            assert job is not None
            intervals.append(job.payload["interval"])
            await asyncio.sleep(0.03)
    assert intervals == [pytest.approx(0.015), pytest.approx(0.02), pytest.approx(0.02)]


async def test_tasks_watched_together_come_due_apart_within_a_tenth_of_the_interval(
    httpserver: HTTPServer, redis_url: str, prefix: str
) -> None:
    tasks = [f"task-{number:02d}" for number in range(20)]
    for task in tasks:
        httpserver.expect_request(f"/v1/videos/{task}").respond_with_json(video(task, "in_progress"))
    config = api_config(
        prefix, redis_url, api_base(httpserver), poll_interval_seconds=100.0, api_rate_limit_per_second=1000
    )
    async with receiver_parts(config, redis_url) as parts:
        for task in tasks:
            await parts.watch("veo-relay", task)
        before = time.time()
        assert await parts.runner.run_due() == len(tasks)
        after = time.time()
        dues = [await parts.queue.due(poll_job_id("veo-relay", task)) or 0.0 for task in tasks]
    assert all(before + 100.0 <= due <= after + 110.0 for due in dues)
    # In step, they would lie within the run's own duration; a tenth of 100 s spreads them over seconds.
    assert max(dues) - min(dues) > (after - before) + 2.0


async def test_a_429_waits_for_retry_after_and_counts_a_poll_failure(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(PATH).respond_with_data("busy", status=429, headers={"retry-after": "20"})
    before = metric("videohooks_poll_failures_total", "veo-relay")
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        await parts.watch("veo-relay", TASK)
        await parts.runner.run_due()
        due_ms = rclient.zscore(f"{prefix}:{{jobs}}:due", poll_job_id("veo-relay", TASK))
        assert due_ms is not None and due_ms / 1000 >= time.time() + 19
        assert await parts.runner.run_due() == 0
    assert metric("videohooks_poll_failures_total", "veo-relay") == before + 1
    assert stream_events(rclient, f"{prefix}:events") == []


async def test_a_rejected_key_is_retried_until_the_deadline_which_names_the_error(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(PATH).respond_with_json({"error": {"message": "invalid key"}}, status=401)
    config = api_config(prefix, redis_url, api_base(httpserver), deadline_seconds=0.2)
    async with receiver_parts(config, redis_url) as parts:
        await parts.watch("veo-relay", TASK)
        await parts.run_until_idle()
    [failed] = stream_events(rclient, f"{prefix}:events")
    assert (failed["status"], failed["error"]["code"]) == ("failed", "deadline_exceeded")
    assert "HTTP 401" in failed["error"]["message"]
    assert failed["model"] is None and failed["task_type"] == "generation"


async def test_the_watched_gauge_counts_jobs_in_redis(
    httpserver: HTTPServer, redis_url: str, prefix: str
) -> None:
    config = api_config(prefix, redis_url, api_base(httpserver))
    async with receiver_parts(config, redis_url) as parts:
        await parts.watch("veo-relay", "task-a")
        await parts.watch("veo-relay", "task-b")
        await refresh_watched_gauge(parts.queue, config)
        assert metric("videohooks_watched_tasks", "veo-relay", state="reconciling") == 2
        await parts.queue.complete((await parts.queue.jobs("poll"))[0])
        await refresh_watched_gauge(JobQueue(parts.redis, prefix), config)
        assert metric("videohooks_watched_tasks", "veo-relay", state="reconciling") == 1


def test_cli_watch_registers_the_task_once(config_file: Path, prefix: str, rclient: redis.Redis) -> None:
    path = config_file
    relay_source = f"""
[[sources]]
id = "veo-relay"
provider = "openai-compatible"
api_base_url = "https://relay.example.test"
api_key = "{API_KEY}"
"""
    path.write_text(path.read_text(encoding="utf-8") + relay_source, encoding="utf-8")
    runner = CliRunner()
    first = runner.invoke(cli, ["watch", "veo-relay", TASK, "--config", str(path)])
    again = runner.invoke(cli, ["watch", "veo-relay", TASK, "--config", str(path)])
    assert (first.exit_code, again.exit_code) == (0, 0), first.output
    assert f"watching {TASK} of veo-relay" in first.output
    assert "already watching" in again.output
    assert rclient.hkeys(f"{prefix}:{{jobs}}:data") == [poll_job_id("veo-relay", TASK).encode()]

    callback_source = runner.invoke(cli, ["watch", "memories-signed", TASK, "--config", str(path)])
    bad_id = runner.invoke(cli, ["watch", "veo-relay", "no spaces", "--config", str(path)])
    assert (callback_source.exit_code, bad_id.exit_code) == (2, 2)
    assert "has no task API" in callback_source.output
    assert "not valid" in bad_id.output
