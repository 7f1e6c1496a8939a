"""The `copy` job end to end: real Redis, a real S3 API (moto) and a directory, the provider on loopback.

What it must show: the event is published once its assets are in the store, pointing at the copies
with their size and sha256; an asset that cannot be had is retried until the deadline and the event is
then published with the provider's URL and `asset_errors`; a worker killed mid-copy leaves the job to
the next one, which writes the same key; and a 200 MiB asset is copied with the copying process's
memory flat (well under 150 MB).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer
from redis.asyncio import Redis
from werkzeug import Request, Response

from receiver.assets.copier import COPY, Copier, copy_job_id, defer_copy, needs_copy
from receiver.assets.download import Trust
from receiver.assets.store import AssetStore
from receiver.core.jobs import JobQueue, JobRunner
from receiver.core.publisher import Publisher
from receiver.flow.pipeline import AssetCopies, Pipeline
from receiver.foundation.asset_settings import AssetsConfig
from receiver.foundation.errors import RedisUnavailable
from receiver.foundation.keys import KeySpace
from receiver.services.work import asset_copier
from schemas.event import Asset, CanonicalEvent
from schemas.normalizing import DeliveryContext, build_event
from tests.support import ROOT, stream_entries
from tests.support.clock import MovableClock
from tests.support.config import config_with
from tests.support.s3server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server
from tests.support.waiting import wait_until

MIB = 1024 * 1024
BLOCK = os.urandom(MIB)
ReadCopy = Callable[[str], bytes]


@pytest.fixture(params=["directory", "s3"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    if request.param == "directory":
        return {"store": str(tmp_path / "assets")}
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = f"assets-{uuid.uuid4().hex[:12]}"
    server.create_bucket(bucket)
    return {
        "store": f"s3://{bucket}/videohooks",
        "s3_endpoint": server.endpoint,
        "s3_region": REGION,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
    }


@pytest.fixture
def read_copy(request: pytest.FixtureRequest) -> ReadCopy:
    def read(url: str) -> bytes:
        parts = urlsplit(url)
        if parts.scheme == "file":
            return Path(parts.path).read_bytes()
        server: S3Server = request.getfixturevalue("s3_server")
        response = server.get(parts.netloc, parts.path.lstrip("/"))
        assert response.status_code == 200
        return response.content

    return read


@pytest.fixture
def queue(aredis: Redis, prefix: str) -> JobQueue:
    return JobQueue(aredis, prefix)


@pytest.fixture
def publisher(aredis: Redis, prefix: str) -> Publisher:
    return Publisher(aredis, KeySpace(prefix, 1, False), dedupe_ttl_seconds=3600)


def event_with(*assets: Asset, task_id: str = "video_1") -> CanonicalEvent:
    ctx = DeliveryContext("openai-main", "openai", datetime.now(UTC))
    return build_event(ctx, task_id=task_id, task_type="generation", status="succeeded", assets=assets)


def video(url: str, expires_at: datetime | None = None) -> Asset:
    return Asset(kind="video", url=url, expires_at=expires_at)


def published(rclient: redis.Redis, prefix: str) -> list[dict[str, Any]]:
    return [orjson.loads(entry["event"]) for entry in stream_entries(rclient, f"{prefix}:events")]


async def run_until_done(runner: JobRunner, queue: JobQueue, job_id: str, timeout: float = 10.0) -> int:
    """Run the due jobs until `job_id` is gone; how many runs it took."""
    deadline = time.monotonic() + timeout
    runs = 0
    while await queue.get(job_id) is not None:
        assert time.monotonic() < deadline, "the copy job did not finish"
        runs += await runner.run_due()
        await asyncio.sleep(0.02)
    return runs


def copier(settings: dict[str, object], publisher: Publisher, **overrides: object) -> Copier:
    assets = AssetsConfig.model_validate({**settings, "allow_private_networks": True, **overrides})
    return Copier(
        assets,
        AssetStore(assets),
        publisher,
        lambda _: Trust(allow_private_networks=True),
        retry_seconds=0.05,
    )


async def test_the_event_is_published_once_its_assets_are_copied(
    store_settings: dict[str, object],
    read_copy: ReadCopy,
    httpserver: HTTPServer,
    queue: JobQueue,
    publisher: Publisher,
    rclient: redis.Redis,
    prefix: str,
) -> None:
    body = BLOCK * 3
    httpserver.expect_request("/v1/videos/video_1/content").respond_with_data(body, content_type="video/mp4")
    provider_url = httpserver.url_for("/v1/videos/video_1/content")
    thumbnail = Asset(kind="thumbnail", url="gs://not-copied/t.webp", expires_at=None)
    event = event_with(video(provider_url, datetime.now(UTC) + timedelta(hours=1)), thumbnail)
    assert needs_copy(event)

    assert await defer_copy(queue, event, deadline_seconds=60, why="a callback")
    assert not await defer_copy(
        queue, event, deadline_seconds=60, why="a callback"
    )  # a retried callback: the same job
    assert published(rclient, prefix) == []

    handler = copier(store_settings, publisher)
    assert await run_until_done(JobRunner(queue, {COPY: handler}), queue, copy_job_id(event.event_id)) == 1
    await handler.aclose()

    [result] = published(rclient, prefix)
    assert result["event_id"] == event.event_id
    assert result["schema_version"] == 2
    copy, kept = result["assets"]
    store = str(store_settings["store"])
    base = store if store.startswith("s3://") else f"file://{Path(store).resolve()}"
    assert copy == {
        "kind": "video",
        "url": f"{base}/openai-main/video_1/0-video.mp4",
        "expires_at": None,
        "source_url": provider_url,
        "content_type": "video/mp4",
        "bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    assert kept["url"] == kept["source_url"] == "gs://not-copied/t.webp"
    assert "asset_errors" not in result["extensions"]
    assert read_copy(copy["url"]) == body


async def test_an_asset_that_404s_is_retried_until_the_deadline_then_published_with_asset_errors(
    tmp_path: Path,
    httpserver: HTTPServer,
    queue: JobQueue,
    publisher: Publisher,
    rclient: redis.Redis,
    prefix: str,
) -> None:
    httpserver.expect_request("/gone.mp4").respond_with_data(b"not found", status=404)
    httpserver.expect_request("/ok.mp4").respond_with_data(BLOCK, content_type="video/mp4")
    gone, ok = httpserver.url_for("/gone.mp4"), httpserver.url_for("/ok.mp4")
    event = event_with(video(ok), video(gone))
    started = time.time()
    await defer_copy(queue, event, deadline_seconds=0.6, why="a callback")

    handler = copier({"store": str(tmp_path)}, publisher)
    runs = await run_until_done(JobRunner(queue, {COPY: handler}), queue, copy_job_id(event.event_id))
    await handler.aclose()

    assert time.time() - started >= 0.6
    attempts = sum(1 for request, _ in httpserver.log if request.path == "/gone.mp4")
    assert attempts == runs >= 3  # retried with backoff, the last attempt at the deadline
    assert sum(1 for request, _ in httpserver.log if request.path == "/ok.mp4") == 1  # copied once, kept
    [result] = published(rclient, prefix)
    copied, failed = result["assets"]
    assert copied["sha256"] == hashlib.sha256(BLOCK).hexdigest()
    assert failed == {
        "kind": "video",
        "url": gone,
        "expires_at": None,
        "source_url": gone,
        "content_type": None,
        "bytes": None,
        "sha256": None,
    }
    [error] = result["extensions"]["asset_errors"]
    assert (error["index"], error["code"]) == (1, "asset_deadline_exceeded")
    assert "asset_unavailable" in error["message"] and "404" in error["message"]


async def test_refused_assets_are_given_up_at_once_and_the_provider_expiry_bounds_the_rest(
    tmp_path: Path,
    httpserver: HTTPServer,
    queue: JobQueue,
    publisher: Publisher,
    rclient: redis.Redis,
    prefix: str,
) -> None:
    httpserver.expect_request("/big.mp4").respond_with_data(BLOCK * 2, content_type="video/mp4")
    httpserver.expect_request("/later.mp4").respond_with_data(b"", status=503)
    other = "127.0.0.1" if httpserver.host == "localhost" else "localhost"
    event = event_with(
        video(httpserver.url_for("/big.mp4")),
        video(httpserver.url_for("/later.mp4"), expires_at=datetime.now(UTC) - timedelta(seconds=1)),
        video(f"http://{other}:{httpserver.port}/internal"),
    )
    await defer_copy(queue, event, deadline_seconds=3600, why="a callback")
    assets = AssetsConfig(store=str(tmp_path), max_bytes=MIB)
    # The server is the source's API host, the one loopback address trusted: the third asset, on
    # loopback under another name, is refused unfetched.
    api = Trust(api_base_url=httpserver.url_for("").rstrip("/"))
    handler = Copier(assets, AssetStore(assets), publisher, lambda _: api)
    runs = await run_until_done(JobRunner(queue, {COPY: handler}), queue, copy_job_id(event.event_id))
    await handler.aclose()

    assert runs == 1  # nothing was worth retrying: the deadline is an hour away, but not the expiry
    [result] = published(rclient, prefix)
    errors = result["extensions"]["asset_errors"]
    assert [(error["index"], error["code"]) for error in errors] == [
        (0, "asset_too_large"),
        (1, "asset_deadline_exceeded"),
        (2, "asset_forbidden_address"),
    ]
    assert "provider's expiry" in errors[1]["message"]
    assert [request.path for request, _ in httpserver.log] == ["/big.mp4", "/later.mp4"]
    assert list(tmp_path.iterdir()) == []


async def test_a_watch_redis_cannot_start_leaves_the_copied_event_published_once(
    tmp_path: Path,
    httpserver: HTTPServer,
    queue: JobQueue,
    publisher: Publisher,
    rclient: redis.Redis,
    prefix: str,
    redis_url: str,
) -> None:
    """The copier starts watches through `Pipeline.watch`, as every path does: a watch Redis refuses after
    the publish is logged, and the copy job is done, not run again as a failed handler."""
    watched: list[str] = []

    async def redis_refuses(event: CanonicalEvent) -> None:
        watched.append(event.event_id)
        raise RedisUnavailable("redis went away after the publish")

    httpserver.expect_request("/ok.mp4").respond_with_data(BLOCK, content_type="video/mp4")
    event = event_with(video(httpserver.url_for("/ok.mp4")))
    await defer_copy(queue, event, deadline_seconds=3600, why="a callback")
    config = config_with(
        prefix,
        redis_url,
        httpserver.url_for(""),
        assets={"store": str(tmp_path), "allow_private_networks": True},
    )
    assert config.assets is not None
    copies = AssetCopies(config.assets, AssetStore(config.assets), queue)
    handler = asset_copier(config, Pipeline(publisher, assets=copies, watcher=redis_refuses))
    assert handler is not None
    runs = await run_until_done(JobRunner(queue, {COPY: handler}), queue, copy_job_id(event.event_id))
    await handler.aclose()

    assert runs == 1
    assert watched == [event.event_id]
    assert len(published(rclient, prefix)) == 1
    assert sum(1 for request, _ in httpserver.log if request.path == "/ok.mp4") == 1


async def test_no_copy_job_for_an_event_the_publish_would_drop(
    tmp_path: Path, queue: JobQueue, publisher: Publisher, prefix: str, redis_url: str
) -> None:
    """Copying is work done before the publish: `decide` is asked first (the publish script peeking),
    so a status the task is past, or one already published complete, gets no copy job; a complete
    result for an incomplete event does."""
    config = config_with(prefix, redis_url, "http://127.0.0.1:9", assets={"store": str(tmp_path)})
    assert config.assets is not None
    pipeline = Pipeline(publisher, assets=AssetCopies(config.assets, AssetStore(config.assets), queue))
    asset = video("https://cdn.example.com/v.mp4")
    ctx = DeliveryContext("openai-main", "openai", datetime.now(UTC))

    await publisher.publish(event_with(task_id="past"))
    behind = build_event(ctx, task_id="past", task_type="generation", status="running", assets=[asset])
    again = event_with(asset, task_id="past")
    partial = build_event(
        ctx,
        task_id="partial",
        task_type="generation",
        status="succeeded",
        extensions={"asset_errors": [{"url": asset.url, "error": "404"}]},
    )
    await publisher.publish(partial)
    complete = event_with(asset, task_id="partial")

    outcomes = [(await pipeline.release(event, "a callback")).status for event in (behind, again, complete)]
    assert outcomes == ["stale", "duplicate", "accepted"]
    assert [
        await queue.get(copy_job_id(event.event_id)) is not None for event in (behind, again, complete)
    ] == [
        False,
        False,
        True,
    ]


def streamed(
    blocks: int, served: list[int] | None = None, stall: tuple[int, threading.Event] | None = None
) -> Callable[[Request], Response]:
    """A handler streaming `blocks` MiB of video, generated as it goes (nothing that size on disk).

    `stall`: (n, resume), a provider that hangs mid-body: after n blocks the stream waits for `resume`.
    """

    def handler(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            for index in range(blocks):
                if stall is not None and index == stall[0]:
                    stall[1].wait(timeout=60)
                if served is not None:
                    served.append(len(BLOCK))
                yield BLOCK

        return Response(body(), content_type="video/mp4", headers={"content-length": str(blocks * MIB)})

    return handler


def sha256_of(blocks: int) -> str:
    digest = hashlib.sha256()
    for _ in range(blocks):
        digest.update(BLOCK)
    return digest.hexdigest()


def worker(redis_url: str, prefix: str, settings: dict[str, object], lease: float) -> subprocess.Popen[bytes]:
    """`tests/support/workers/assets.py`: a copying process of its own, to kill or to measure."""
    arguments = {"redis_url": redis_url, "prefix": prefix, "assets": settings, "lease": lease}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.workers.assets", orjson.dumps(arguments).decode()],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )


async def test_a_worker_killed_mid_copy_leaves_the_job_to_the_next_which_writes_the_same_key(
    store_settings: dict[str, object],
    read_copy: ReadCopy,
    httpserver: HTTPServer,
    queue: JobQueue,
    publisher: Publisher,
    rclient: redis.Redis,
    redis_url: str,
    prefix: str,
) -> None:
    served: list[int] = []
    resume = threading.Event()
    httpserver.expect_ordered_request("/video.mp4").respond_with_handler(
        streamed(24, served=served, stall=(6, resume))
    )
    httpserver.expect_ordered_request("/video.mp4").respond_with_handler(streamed(24))
    event = event_with(video(httpserver.url_for("/video.mp4")))
    await defer_copy(queue, event, deadline_seconds=60, why="a callback")

    process = worker(redis_url, prefix, {**store_settings, "allow_private_networks": True}, lease=4.0)
    try:
        await asyncio.to_thread(wait_until, lambda: sum(served) >= 6 * MIB, 30)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        resume.set()  # the rest of the first answer goes nowhere; the server can answer the next
    assert published(rclient, prefix) == []
    assert await queue.get(copy_job_id(event.event_id)) is not None  # leased by the dead worker, not lost

    handler = copier(store_settings, publisher)
    clock = MovableClock()
    runner = JobRunner(queue, {COPY: handler}, clock=clock)
    assert await runner.run_due() == 0  # still leased: taken up once the lease runs out
    clock.advance(4.0)
    await run_until_done(runner, queue, copy_job_id(event.event_id), timeout=20)
    await handler.aclose()

    [result] = published(rclient, prefix)
    [copy] = result["assets"]
    assert urlsplit(copy["url"]).path.endswith("/openai-main/video_1/0-video.mp4")
    assert copy["sha256"] == sha256_of(24)
    assert read_copy(copy["url"]) == BLOCK * 24


@pytest.mark.timeout(300)
async def test_a_200_mib_asset_is_copied_with_memory_flat(
    store_settings: dict[str, object],
    httpserver: HTTPServer,
    queue: JobQueue,
    rclient: redis.Redis,
    redis_url: str,
    prefix: str,
) -> None:
    blocks = 200
    httpserver.expect_request("/large.mp4").respond_with_handler(streamed(blocks))
    event = event_with(video(httpserver.url_for("/large.mp4")))
    await defer_copy(queue, event, deadline_seconds=600, why="a callback")

    started = time.perf_counter()
    process = worker(redis_url, prefix, {**store_settings, "allow_private_networks": True}, lease=600)
    stdout, _ = await asyncio.to_thread(process.communicate, timeout=280)
    seconds = time.perf_counter() - started
    assert process.returncode == 0
    report = orjson.loads(stdout.splitlines()[-1])
    max_rss_mb = report["max_rss_kib"] / 1024
    print(f"200 MiB copied to {store_settings['store']} in {seconds:.1f} s; peak RSS {max_rss_mb:.0f} MiB")
    assert report["ran"] == 1
    assert max_rss_mb < 150

    [result] = published(rclient, prefix)
    [copy] = result["assets"]
    assert (copy["bytes"], copy["sha256"]) == (blocks * MIB, sha256_of(blocks))
