"""One truth per task, at every seam: real Redis, a real store (a directory, moto S3), and `httpserver`
playing the providers' APIs. Each test drives one place where two paths meet (a webhook and the API,
an incomplete event and its completion, a dead letter and its redrive, two receivers on one Redis, a
store outage and the provider's retry)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import redis
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient
from werkzeug import Request, Response

from receiver.config import Config, parse_config
from receiver.core.decision import Drop, Holder, Publish, Supersede, Wait, decide, incomplete
from receiver.http.app import create_app
from receiver.providers import verifier_for
from receiver.services.dlq import DeadLetters
from receiver.services.taskrecord import read_task
from schemas.event import Error, event_id_for
from schemas.normalizing import DeliveryContext, build_event
from tests.support import ADMIN_TOKEN, API_KEY, TL_SECRET, stream_entries, stream_events
from tests.support.api import Parts, api_base, receiver_parts, video, webhook
from tests.support.config import config_dict
from tests.support.s3server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server

OPERATION = "models/veo-3.1-generate-preview/operations/truth0001"
VIDEO = "video_truth_1"
MEDIA = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 16


def config(prefix: str, redis_url: str, api: str, drop: tuple[str, ...] = (), **sections: Any) -> Config:
    """The test config with `sections` set, every API source polled quickly, and `drop`'s sources left
    out (a receiver of another deploy)."""
    data = config_dict(prefix, redis_url, api)
    sources: list[dict[str, Any]] = data["sources"]
    # TwelveLabs with an API key: its thin webhooks are fetched, its tasks can be watched.
    sources.append(
        {
            "id": "twelvelabs-api",
            "provider": "twelvelabs",
            "secrets": [TL_SECRET],
            "api_key": API_KEY,
            "api_base_url": api,
        }
    )
    data["sources"] = [source for source in sources if source["id"] not in drop]
    for source in data["sources"]:
        if "api_key" in source:
            source.update(
                poll_interval_seconds=0.05,
                fetch_retry_seconds=0.05,
                reconcile_after_seconds=0.1,
                api_rate_limit_per_second=1000,
            )
    data.update(sections)
    return parse_config(data)


def s3_assets(server: S3Server, bucket: str) -> dict[str, str]:
    """`[assets]` in a bucket of the suite's S3 server."""
    return {
        "store": f"s3://{bucket}/videohooks",
        "s3_endpoint": server.endpoint,
        "s3_region": REGION,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
    }


def video_generated(operation: str = OPERATION) -> bytes:
    """Gemini's thin `video.generated` webhook: it says the video is made, nothing more."""
    return orjson.dumps(
        {
            "type": "video.generated",
            "version": "v1",
            "timestamp": "2026-11-20T12:00:00Z",
            "data": {"id": operation, "file_name": "files/7xk2q9b1"},
        }
    )


def operation(**response: Any) -> dict[str, Any]:
    return {"name": OPERATION, "done": True, "response": {"generateVideoResponse": response}}


def inline_operation() -> dict[str, Any]:
    encoded = base64.b64encode(MEDIA).decode()
    return operation(generatedSamples=[{"video": {"encodedVideo": encoded, "mimeType": "video/mp4"}}])


def answers(*bodies: tuple[int, Any]) -> Any:
    """An API handler that gives each answer in turn, then the last one for good."""
    calls = iter(bodies)
    last: list[tuple[int, Any]] = []

    def handler(_request: Request) -> Response:
        status, body = next(calls, None) or last[0]
        last[:] = [(status, body)]
        return Response(orjson.dumps(body), status=status, content_type="application/json")

    return handler


async def task_record(parts: Parts, source: str, task_id: str) -> dict[str, Any]:
    keys = parts.pipeline.publisher.keys
    record = await read_task(parts.redis, keys, parts.queue, source, task_id, fetch_deadline_seconds=600)
    assert record is not None
    return record.as_json()


# -- the decision, without Redis


def test_the_api_s_final_word_beats_the_webhook_s_and_a_lagging_answer_waits() -> None:
    ctx = DeliveryContext("gemini-main", "gemini", datetime.now(UTC))
    notice = build_event(ctx, task_id="t", task_type="generation", status="succeeded")
    failed = build_event(ctx, task_id="t", task_type="generation", status="failed")
    running = build_event(ctx, task_id="t", task_type="generation", status="running")
    published = decide(failed, "fetched", notice=notice)
    assert isinstance(published, Publish)
    assert published.event.extensions == {"notified_status": "succeeded"}
    assert isinstance(decide(running, "fetched", notice=notice), Wait)
    # An unproven notification's word counts for nothing: the API's answer is published as it is.
    assert decide(running, "fetched", notice=notice, proven=False) == Publish(running, "fetched")
    # Once published: a complete event supersedes an incomplete one, never the other way round.
    cut = replace(failed, error=Error("fetch_failed", "the API was down"))
    assert incomplete(cut) and not incomplete(failed)
    completion = decide(failed, "polled", holder=Holder(incomplete=cut.event_id))
    assert isinstance(completion, Supersede)
    assert completion.event.extensions == {"supersedes": cut.event_id}
    assert completion.event.event_id != cut.event_id
    assert decide(cut, "polled", holder=Holder(incomplete=cut.event_id)) == Drop(
        "duplicate", "this status of the task is already published"
    )
    assert decide(failed, "polled", holder=Holder()).outcome == "duplicate"  # type: ignore[union-attr]
    assert decide(failed, "polled", holder=Holder(stale=True)).outcome == "stale"  # type: ignore[union-attr]


# -- the seams


async def test_the_veo_safety_filter_is_failed_at_once(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(f"/v1beta/{OPERATION}").respond_with_json(
        operation(raiMediaFilteredCount=1, raiMediaFilteredReasons=["Video blocked by the safety filter."])
    )
    async with receiver_parts(config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        outcome = await parts.deliver("gemini-main", video_generated(), "msg_veo_rai")
        assert outcome.status == "accepted"
        await parts.run_until_idle()
        record = await task_record(parts, "gemini-main", OPERATION)
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["status"], event["delivery_id"]) == ("failed", "msg_veo_rai")
    assert "Video blocked by the safety filter." in event["error"]["message"]
    assert event["extensions"]["notified_status"] == "succeeded"
    assert len(httpserver.log) == 1, "the API's final word is published at the first fetch"
    [status] = record["statuses"]
    assert "the API's final word over the webhook's 'succeeded'" in status["decision"]


async def test_a_failed_fetch_is_completed_once_by_the_watch(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    # The API does not know the video yet when the webhook comes (404: the fetch gives up at once),
    # then answers it: the watch that followed the incomplete event finds it.
    httpserver.expect_request(f"/v1/videos/{VIDEO}").respond_with_handler(
        answers((404, {"error": {"message": "not found"}}), (200, video(VIDEO)))
    )
    async with receiver_parts(config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        outcome = await parts.deliver("openai-main", webhook(VIDEO), "msg_truth_f1")
        await parts.run_until_idle()
        record = await task_record(parts, "openai-main", VIDEO)
        # The provider's resend, and any later observation, finds the complete event: never superseded.
        resend = await parts.deliver("openai-main", webhook(VIDEO), "msg_truth_f2")
        assert await parts.watch("openai-main", VIDEO)
        await parts.run_until_idle()
    first, complete = stream_events(rclient, f"{prefix}:events")
    assert (first["event_id"], first["error"]["code"]) == (outcome.event_id, "fetch_failed")
    assert (complete["status"], complete["error"]) == ("succeeded", None)
    assert complete["extensions"]["supersedes"] == first["event_id"] != complete["event_id"]
    assert resend.status == "duplicate"
    assert [(item["event_id"], item["superseded_by"]) for item in record["statuses"]] == [
        (first["event_id"], complete["event_id"]),
        (complete["event_id"], None),
    ]
    assert record["final"] is True


async def test_inline_media_without_a_store_is_redriven_once_a_store_is_configured(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis, tmp_path: Path
) -> None:
    httpserver.expect_request(f"/v1beta/{OPERATION}").respond_with_json(inline_operation())
    api = api_base(httpserver)
    async with receiver_parts(config(prefix, redis_url, api), redis_url) as parts:
        await parts.deliver("gemini-main", video_generated(), "msg_truth_inline")
        assert await parts.runner.run_due() == 1  # the fetch: its media has nowhere to go
    [letter] = stream_entries(rclient, f"{prefix}:dlq")
    assert (letter["reason"], letter["kind"], letter["media_omitted"]) == (
        b"inline_media_without_store",
        b"resource",
        b"1",
    )
    assert base64.b64encode(MEDIA) not in letter["body"]
    [first] = stream_events(rclient, f"{prefix}:events")
    assert first["error"]["code"] == "fetch_failed"

    with_store = config(prefix, redis_url, api, assets={"store": str(tmp_path)})
    async with receiver_parts(with_store, redis_url) as parts:
        dead = DeadLetters(parts.redis, parts.pipeline.publisher.keys)
        [result] = await dead.redrive(with_store, parts.pipeline, None, delete=False)
        assert result.outcome == "fetching"  # the kept body lost its media: the task is fetched again
        await parts.run_until_idle()
    _, complete = stream_events(rclient, f"{prefix}:events")
    assert complete["extensions"]["supersedes"] == first["event_id"]
    [asset] = complete["assets"]
    assert asset["sha256"] == hashlib.sha256(MEDIA).hexdigest()
    assert Path(asset["url"].removeprefix("file://")).read_bytes() == MEDIA


async def test_a_polled_body_refused_for_a_limit_is_redriven_once_the_limit_is_raised(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(f"/v1/videos/{VIDEO}").respond_with_json(video(VIDEO, prompt="x" * 200))
    api = api_base(httpserver)
    tight = config(prefix, redis_url, api, limits={"max_string_bytes": 64})
    async with receiver_parts(tight, redis_url) as parts:
        assert await parts.watch("openai-main", VIDEO)
        await parts.queue.hasten(f"poll:openai-main:{VIDEO}", time.time())
        assert await parts.runner.run_due() == 1
    [letter] = stream_entries(rclient, f"{prefix}:dlq")
    assert (letter["kind"], letter["provenance"]) == (b"resource", b"api")
    assert stream_events(rclient, f"{prefix}:events") == []

    roomy = config(prefix, redis_url, api)
    async with receiver_parts(roomy, redis_url) as parts:
        dead = DeadLetters(parts.redis, parts.pipeline.publisher.keys)
        [result] = await dead.redrive(roomy, parts.pipeline, None, delete=False)
        assert result.outcome == "accepted"
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["task_id"], event["status"], event["event_id"]) == (VIDEO, "succeeded", result.event_id)


async def test_two_receivers_with_different_sources_share_one_redis(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(f"/v1/videos/{VIDEO}").respond_with_json(video(VIDEO))
    for number in range(100):
        httpserver.expect_request(f"/v1/videos/video_{number}").respond_with_json(video(f"video_{number}"))
    api = api_base(httpserver)
    count = 100
    async with (
        receiver_parts(config(prefix, redis_url, api), redis_url) as a,
        receiver_parts(config(prefix, redis_url, api, drop=("openai-main",)), redis_url) as b,
    ):
        for number in range(count):
            await a.deliver("openai-main", webhook(f"video_{number}"), f"msg_two_{number}")
        assert await a.watch("openai-main", VIDEO)
        # B, whose config lacks the source (the other side of a rolling deploy), leaves every job.
        assert await b.runner.run_due() == 0
        assert await a.queue.count("fetch") == count and await a.queue.count("poll") == 1
        taken = 0
        a_done = asyncio.Event()

        async def a_runs() -> None:
            try:
                await a.run_until_idle(timeout=60)
            finally:
                a_done.set()

        async def b_claims_meanwhile() -> None:
            nonlocal taken
            while not a_done.is_set():
                taken += await b.runner.run_due()
                await asyncio.sleep(0.05)

        await asyncio.gather(a_runs(), b_claims_meanwhile())
        assert (taken, await a.queue.count()) == (0, 0)
    events = stream_events(rclient, f"{prefix}:events")
    assert len(events) == count + 1
    assert [event for event in events if event["error"]] == []


async def test_a_store_outage_is_503_and_the_provider_s_retry_succeeds(
    redis_url: str, prefix: str, rclient: redis.Redis, s3_server: S3Server
) -> None:
    bucket = f"truth-{uuid.uuid4().hex[:12]}"  # not there yet: the store refuses every write
    assets = s3_assets(s3_server, bucket)
    settings = config(prefix, redis_url, "http://127.0.0.1:9", assets=assets)
    source = settings.source("replicate-main")
    assert source is not None
    data_url = "data:video/mp4;base64," + base64.b64encode(MEDIA).decode()
    body = orjson.dumps(
        {"id": "pred_truth", "model": "google/veo-3.1", "status": "succeeded", "output": data_url}
    )
    headers = verifier_for(source).sign(body, time.time(), "msg_truth_store").headers
    with TestClient(create_app(settings), raise_server_exceptions=True) as client:
        down = client.post("/v1/callbacks/replicate-main", content=body, headers=headers)
        assert (down.status_code, down.json()["error"]["code"]) == (503, "unavailable")
        assert down.headers["retry-after"] == "5"
        assert stream_entries(rclient, f"{prefix}:events") == [] == stream_entries(rclient, f"{prefix}:dlq")
        s3_server.create_bucket(bucket)
        retried = client.post("/v1/callbacks/replicate-main", content=body, headers=headers)
        assert (retried.status_code, retried.json()["status"]) == (202, "accepted")
    [event] = stream_events(rclient, f"{prefix}:events")
    [asset] = event["assets"]
    assert asset["sha256"] == hashlib.sha256(MEDIA).hexdigest()
    assert s3_server.get(bucket, asset["url"].partition(f"/{bucket}/")[2]).content == MEDIA


INDEX_TASK = "6707b5e1c2a3d4f5a6b7c9a3"


def index_task(status: str = "ready") -> dict[str, Any]:
    return {
        "_id": INDEX_TASK,
        "index_id": "66f0a1b2c3d4e5f6a7b8c9d0",
        "video_id": "6707b5e9f0a1b2c3d4e5f6a7",
        "status": status,
        "created_at": "2026-11-21T09:18:00Z",
        "updated_at": "2026-11-21T09:20:00Z",
        "system_metadata": {"duration": 61.5, "filename": "clip.mp4"},
    }


async def test_a_twelvelabs_task_whose_callback_was_lost_is_reconciled(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    # Watched without a task_type: not an analyze task (404 there), found among the indexing tasks.
    httpserver.expect_request(f"/v1.3/analyze/tasks/{INDEX_TASK}").respond_with_json(
        {"message": "no"}, status=404
    )
    httpserver.expect_request(f"/v1.3/tasks/{INDEX_TASK}", headers={"x-api-key": API_KEY}).respond_with_json(
        index_task()
    )
    api = api_base(httpserver)
    settings = config(prefix, redis_url, api)
    with TestClient(create_app(settings)) as client:
        answer = client.post(
            "/v1/sources/twelvelabs-api/tasks",
            json={"task_id": INDEX_TASK},
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert (answer.status_code, answer.json()["status"]) == (202, "watching")
    async with receiver_parts(settings, redis_url) as parts:
        await parts.run_until_idle()
        record = await task_record(parts, "twelvelabs-api", INDEX_TASK)
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["task_type"], event["status"], event["extensions"]["video_id"]) == (
        "indexing",
        "succeeded",
        "6707b5e9f0a1b2c3d4e5f6a7",
    )
    assert record["final"] is True and record["watch"] is None
    assert record["statuses"][0]["decision"] == "reconciled: polled after its callbacks"


async def test_an_index_webhook_is_fetched_from_the_indexing_route(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(f"/v1.3/tasks/{INDEX_TASK}").respond_with_json(index_task())
    body = orjson.dumps(
        {
            "id": "whe_index_truth",
            "created_at": "2026-11-21T09:20:00Z",
            "type": "index.task.ready",
            "data": {"id": INDEX_TASK, "status": "ready"},
        }
    )
    async with receiver_parts(config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        assert (await parts.deliver("twelvelabs-api", body, "whe_index_truth")).status == "accepted"
        await parts.run_until_idle()
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["status"], event["error"], event["extensions"]["index_id"]) == (
        "succeeded",
        None,
        "66f0a1b2c3d4e5f6a7b8c9d0",
    )
    assert [request.path for request, _ in httpserver.log] == [f"/v1.3/tasks/{INDEX_TASK}"]


async def test_an_asset_that_could_not_be_copied_is_completed_by_the_watch(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis, tmp_path: Path
) -> None:
    httpserver.expect_request(f"/v1/videos/{VIDEO}").respond_with_json(video(VIDEO))
    # The provider's content route fails the first copy for good (404), then serves the video.
    httpserver.expect_request(f"/v1/videos/{VIDEO}/content").respond_with_handler(
        answers((404, {"error": "not yet"}), (200, {"video": "bytes"}))
    )
    settings = config(prefix, redis_url, api_base(httpserver), assets={"store": str(tmp_path)})
    async with receiver_parts(settings, redis_url) as parts:
        await parts.deliver("openai-main", webhook(VIDEO), "msg_truth_copy")
        await parts.run_until_idle()
    first, complete = stream_events(rclient, f"{prefix}:events")
    assert first["extensions"]["asset_errors"], "published incomplete: its asset was not copied"
    assert complete["extensions"]["supersedes"] == first["event_id"]
    assert "asset_errors" not in complete["extensions"]
    assert complete["assets"][0]["sha256"] == hashlib.sha256(b'{"video":"bytes"}').hexdigest()


async def test_a_store_outage_on_the_fetch_path_retries_quietly_then_completes(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis, s3_server: S3Server
) -> None:
    httpserver.expect_request(f"/v1beta/{OPERATION}").respond_with_json(inline_operation())
    bucket = f"truth-{uuid.uuid4().hex[:12]}"  # not there yet: the store refuses every write
    assets = s3_assets(s3_server, bucket)
    settings = config(prefix, redis_url, api_base(httpserver), assets=assets)
    async with receiver_parts(settings, redis_url) as parts:
        await parts.deliver("gemini-main", video_generated(), "msg_truth_store_fetch")
        assert await parts.runner.run_due() == 1
        # Not a handler failure: the job is rescheduled at the source's retry pace, nothing published.
        job = await parts.queue.get(f"fetch:{event_id_for('gemini-main', OPERATION, 'succeeded')}")
        assert job is not None and job.payload["interval"] is not None
        assert stream_entries(rclient, f"{prefix}:events") == [] == stream_entries(rclient, f"{prefix}:dlq")
        s3_server.create_bucket(bucket)
        await parts.run_until_idle()
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["status"], event["error"]) == ("succeeded", None)
    assert event["assets"][0]["sha256"] == hashlib.sha256(MEDIA).hexdigest()
