"""The background work of a receiver process: the job runner (fetch and poll) and periodic upkeep.

Started by the app's lifespan after the pipeline, stopped before Redis closes: the runner finishes the
jobs it holds, then the API clients close. The jobs themselves live in Redis, so whatever is pending
when a process stops is taken up by the next one (or by another process of the same deployment).

Every loop here is stopped by setting an event, never by cancelling its task: a cancel landing in the
middle of a redis-py command can leave the connection, and the app's shutdown, waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from receiver.clients.pool import ClientPool
from receiver.config import Config
from receiver.errors import REDIS_FAILURES
from receiver.fetch import FETCH, Fetcher
from receiver.jobs import JobQueue, JobRunner
from receiver.logs import logger
from receiver.pipeline import Pipeline
from receiver.poll import POLL, Poller, refresh_watched_gauge
from receiver.publisher import AnyRedis
from receiver.retention import check_all

# Often enough for a dashboard, rarely enough that reading every job stays cheap.
GAUGE_REFRESH_SECONDS = 15.0


def job_runner(config: Config, redis: AnyRedis, pipeline: Pipeline, clients: ClientPool) -> JobRunner:
    queue = JobQueue(redis, config.redis.prefix)
    return JobRunner(
        queue, {FETCH: Fetcher(config, pipeline, clients), POLL: Poller(config, pipeline, clients)}
    )


async def every(
    seconds: float, stop: asyncio.Event, step: Callable[[], Awaitable[object]], what: str
) -> None:
    """`step` now and every `seconds` until `stop` is set; a Redis outage only skips a pass."""
    while not stop.is_set():
        try:
            await step()
        except REDIS_FAILURES as exc:
            logger.warning(f"{what}_failed", error=f"{exc.__class__.__name__}: {exc}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


@asynccontextmanager
async def background_work(config: Config, redis: AnyRedis, pipeline: Pipeline) -> AsyncIterator[JobRunner]:
    clients = ClientPool()
    publisher = pipeline.publisher
    runner = job_runner(config, redis, pipeline, clients)
    queue = JobQueue(redis, config.redis.prefix)
    retention = config.redis.retention
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(runner.run()),
        asyncio.create_task(
            every(GAUGE_REFRESH_SECONDS, stop, lambda: refresh_watched_gauge(queue, config), "poll.gauge")
        ),
        asyncio.create_task(
            every(
                retention.check_interval_seconds,
                stop,
                lambda: check_all(redis, publisher.keys, retention),
                "retention_check",
            )
        ),
    ]
    try:
        yield runner
    finally:
        stop.set()
        runner.stop()
        await asyncio.gather(*tasks)
        await clients.aclose()
