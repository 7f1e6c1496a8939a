"""The background work of a receiver process: the job runner (fetch and poll) and the watched-tasks gauge.

Started by the app's lifespan after the pipeline, stopped before Redis closes: the runner finishes the
jobs it holds, then the API clients close. The jobs themselves live in Redis, so whatever is pending
when a process stops is taken up by the next one (or by another process of the same deployment).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.exceptions import RedisError

from receiver.clients.pool import ClientPool
from receiver.config import Config
from receiver.fetch import FETCH, Fetcher
from receiver.jobs import JobQueue, JobRunner
from receiver.logs import logger
from receiver.poll import POLL, Poller, refresh_watched_gauge
from receiver.publisher import AnyRedis, Publisher

# Often enough for a dashboard, rarely enough that reading every job stays cheap.
GAUGE_REFRESH_SECONDS = 15.0


def job_runner(config: Config, redis: AnyRedis, publisher: Publisher, clients: ClientPool) -> JobRunner:
    queue = JobQueue(redis, config.redis.prefix)
    return JobRunner(
        queue, {FETCH: Fetcher(config, publisher, clients), POLL: Poller(config, publisher, clients)}
    )


async def _refresh_gauges(queue: JobQueue, config: Config) -> None:
    while True:
        try:
            await refresh_watched_gauge(queue, config)
        except (RedisError, OSError) as exc:
            logger.warning("poll.gauge_failed", error=exc.__class__.__name__)
        await asyncio.sleep(GAUGE_REFRESH_SECONDS)


@asynccontextmanager
async def background_work(config: Config, redis: AnyRedis, publisher: Publisher) -> AsyncIterator[JobRunner]:
    clients = ClientPool()
    runner = job_runner(config, redis, publisher, clients)
    running = asyncio.create_task(runner.run())
    gauges = asyncio.create_task(_refresh_gauges(JobQueue(redis, config.redis.prefix), config))
    try:
        yield runner
    finally:
        runner.stop()
        gauges.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gauges
        await running
        await clients.aclose()
