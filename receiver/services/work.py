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
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from receiver.assets.cloud import CloudReader
from receiver.assets.copier import COPY, Copier, config_trust, refresh_pending_copies
from receiver.config import Config
from receiver.core.budget import ApiBudget
from receiver.core.client_pool import ClientPool
from receiver.core.jobs import Handler, JobQueue, JobRunner
from receiver.flow.fetch import FETCH, Fetcher
from receiver.flow.pipeline import Pipeline
from receiver.flow.poll import POLL, Poller, refresh_watched_gauge
from receiver.foundation.errors import RedisUnavailable
from receiver.foundation.keys import AnyRedis
from receiver.foundation.logs import logger
from receiver.services.archive import Archive
from receiver.services.retention import check_all

# Often enough for a dashboard, rarely enough that reading every job stays cheap.
GAUGE_REFRESH_SECONDS = 15.0


def job_runner(
    config: Config,
    redis: AnyRedis,
    pipeline: Pipeline,
    clients: ClientPool,
    copier: Copier | None = None,
    clock: Callable[[], float] = time.time,
) -> JobRunner:
    queue = JobQueue(redis, config.redis.prefix)
    budget = ApiBudget(redis, config.redis.prefix)
    handlers: dict[str, Handler] = {
        FETCH: Fetcher(config, pipeline, clients, budget),
        POLL: Poller(config, pipeline, clients, budget),
    }
    if copier is not None:
        handlers[COPY] = copier
    # Only jobs of this process's sources: another process's are left for it (a rolling deploy).
    return JobRunner(queue, handlers, sources=[source.id for source in config.sources], clock=clock)


def asset_copier(config: Config, pipeline: Pipeline) -> Copier | None:
    """The `copy` job handler where an asset store is configured."""
    if pipeline.assets is None:
        return None
    assets = pipeline.assets.config
    cloud = CloudReader(config, assets.max_bytes)
    trust = config_trust(config, assets)
    return Copier(assets, pipeline.assets.store, pipeline.publisher, trust, cloud, watcher=pipeline.watch)


async def every(
    seconds: float, stop: asyncio.Event, step: Callable[[], Awaitable[object]], what: str
) -> None:
    """`step` now and every `seconds` until `stop` is set; a Redis outage only skips a pass."""
    while not stop.is_set():
        try:
            await step()
        except RedisUnavailable as exc:
            logger.warning(f"{what}_failed", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


@asynccontextmanager
async def background_work(config: Config, redis: AnyRedis, pipeline: Pipeline) -> AsyncIterator[JobRunner]:
    clients = ClientPool()
    publisher = pipeline.publisher
    copier = asset_copier(config, pipeline)
    runner = job_runner(config, redis, pipeline, clients, copier)
    queue = JobQueue(redis, config.redis.prefix)
    retention = config.redis.retention
    archive = None if retention.archive is None else Archive(retention.archive)
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
                lambda: check_all(redis, publisher.keys, retention, archive),
                "retention_check",
            )
        ),
    ]
    if copier is not None:
        tasks.append(
            asyncio.create_task(
                every(GAUGE_REFRESH_SECONDS, stop, lambda: refresh_pending_copies(queue), "copy.gauge")
            )
        )
    try:
        yield runner
    finally:
        stop.set()
        runner.stop()
        await asyncio.gather(*tasks)
        await clients.aclose()
        if copier is not None:
            await copier.aclose()
