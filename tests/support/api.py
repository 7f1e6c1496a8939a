"""Pieces of a receiver without HTTP, for driving fetch and poll jobs one run at a time.

The same pipeline (with its fetch deferral), publisher, job handlers and API clients the app runs,
against the real Redis and `httpserver` playing the provider's API; `runner.run_due()` takes the place
of the app's background loop so that a test decides when each attempt happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient

from receiver.config import Config, parse_config
from receiver.core.client_pool import ClientPool
from receiver.core.delivery import Delivery
from receiver.core.jobs import JobQueue, JobRunner
from receiver.flow.pipeline import Outcome, Pipeline
from receiver.flow.poll import watch
from receiver.foundation.keys import AnyRedis
from receiver.http.app import create_app
from receiver.services.work import asset_copier, job_runner
from receiver.wiring.connection import open_pipeline
from tests.support.clock import MovableClock
from tests.support.config import config_dict


def video(video_id: str, status: str = "completed", **fields: Any) -> dict[str, Any]:
    """An OpenAI video object as `GET /v1/videos/{id}` returns it."""
    return {
        "id": video_id,
        "object": "video",
        "model": "sora-2",
        "status": status,
        "progress": 100 if status == "completed" else 0,
        "created_at": 1764849835,
        "completed_at": 1764849895 if status == "completed" else None,
        "expires_at": 1764936295 if status == "completed" else None,
        "prompt": "a cat",
        "seconds": "8",
        "size": "1280x720",
        "error": None,
        **fields,
    }


def webhook(video_id: str, kind: str = "video.completed") -> bytes:
    return orjson.dumps(
        {
            "id": f"evt_{video_id}",
            "object": "event",
            "created_at": 1764849900,
            "type": kind,
            "data": {"id": video_id},
        }
    )


def api_base(httpserver: HTTPServer) -> str:
    """The base URL of `httpserver` playing a provider's API, as a source's `api_base_url`."""
    return httpserver.url_for("").rstrip("/")


def api_config(prefix: str, redis_url: str, api_base_url: str, **overrides: Any) -> Config:
    """The test config, with `overrides` applied to every source that calls an API."""
    data = config_dict(prefix, redis_url, api_base_url)
    for source in data["sources"]:
        if "api_key" in source:
            source.update(overrides)
    return parse_config(data)


@contextmanager
def reconciling_app(
    prefix: str, redis_url: str, httpserver: HTTPServer, after: float = 0.2
) -> Iterator[TestClient]:
    """The whole app, its API sources asking `httpserver` and reconciling `after` seconds past a watch's
    start: a lost final callback is reconciled while the test waits."""
    config = api_config(prefix, redis_url, api_base(httpserver), reconcile_after_seconds=after)
    with TestClient(create_app(config)) as client:
        yield client


@dataclass
class Parts:
    config: Config
    redis: AnyRedis
    pipeline: Pipeline
    runner: JobRunner
    queue: JobQueue
    # The runner's and the watches' clock: a test moves it past a delay instead of sleeping through it.
    clock: MovableClock

    async def deliver(self, source_id: str, body: bytes, delivery_id: str) -> Outcome:
        source = self.config.source(source_id)
        assert source is not None
        headers: Mapping[str, str] = {"webhook-id": delivery_id}
        delivery = Delivery(source, body, "callback", "signed", datetime.now(UTC), delivery_id, headers)
        return await self.pipeline.deliver(delivery)

    async def watch(self, source_id: str, task_id: str) -> bool:
        source = self.config.source(source_id)
        assert source is not None
        return await watch(self.queue, source, task_id, self.clock())

    async def run_until_idle(self, timeout: float = 5.0) -> None:
        """Run due jobs until none is left that comes due within `timeout` (a watch started by a
        callback waits `reconcile_after_seconds`: it is not this test's business), waiting for
        rescheduled ones to come due."""
        deadline = self.clock() + timeout
        while (due := await self.queue.next_due()) is not None and due <= deadline:
            assert self.clock() < deadline, "jobs still queued"
            await self.runner.run_due()
            await asyncio.sleep(0.02)


@asynccontextmanager
async def receiver_parts(config: Config, redis_url: str) -> AsyncIterator[Parts]:
    async with open_pipeline(config, redis_url) as (redis, pipeline):
        clients = ClientPool()
        copier = asset_copier(config, pipeline)
        clock = MovableClock()
        try:
            runner = job_runner(config, redis, pipeline, clients, copier, clock)
            yield Parts(config, redis, pipeline, runner, JobQueue(redis, config.redis.prefix), clock)
        finally:
            await clients.aclose()
            if copier is not None:
                await copier.aclose()
