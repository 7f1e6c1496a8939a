"""Redis clients whose failures are the receiver's own: the one boundary where redis-py's are mapped.

Every command (a script's `EVALSHA` included) and every pipeline go through the methods overridden
here, so that a caller anywhere sees `RedisUnavailable` (the original as its `__cause__`) and never
one of the three trees a Redis client fails with. `NoScriptError` passes: it is
the signal on which redis-py's own script objects load the script and call again. A cluster client's
`initialize` (its slot map) is left as it is: the client calls it inside its own retry loops, which
retry on redis-py's exceptions; the two callers outside them handle its failure themselves.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline
from redis.exceptions import NoScriptError

from receiver.foundation.errors import REDIS_FAILURES, redis_unavailable


class MappedRedis(Redis):
    """A server's or a sentinel master's client."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except NoScriptError:
            raise
        except REDIS_FAILURES as exc:
            raise redis_unavailable(args[0], exc) from exc

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> MappedPipeline:
        return MappedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


class MappedPipeline(Pipeline):
    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            return await super().execute(raise_on_error)
        except REDIS_FAILURES as exc:
            raise redis_unavailable("the pipeline", exc) from exc

    async def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        """A command sent at once, while WATCHing keys."""
        try:
            return await super().immediate_execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except REDIS_FAILURES as exc:
            raise redis_unavailable(args[0], exc) from exc


# Set while a cluster command or pipeline runs: the client sends commands of its own inside one (a
# multi-slot command's parts, a pipeline's retried commands) and retries on redis-py's own exceptions,
# so only the outermost call maps.
_inside_cluster_call: ContextVar[bool] = ContextVar("inside_cluster_call", default=False)


class MappedCluster(RedisCluster):
    """A Redis Cluster's client: its cluster errors (slots moving, nodes down) are mapped as well."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if _inside_cluster_call.get():
            return await super().execute_command(*args, **kwargs)
        outermost = _inside_cluster_call.set(True)
        try:
            return await super().execute_command(*args, **kwargs)
        except NoScriptError:
            raise
        except REDIS_FAILURES as exc:
            raise redis_unavailable(args[0], exc) from exc
        finally:
            _inside_cluster_call.reset(outermost)

    def pipeline(
        self, transaction: Any | None = None, shard_hint: Any | None = None
    ) -> MappedClusterPipeline:
        pipe = super().pipeline(transaction, shard_hint)
        # Built by redis-py (which checks the arguments), then given the mapping: the layouts are the same.
        pipe.__class__ = MappedClusterPipeline  # type: ignore[type-abstract]
        return pipe  # type: ignore[return-value]


class MappedClusterPipeline(ClusterPipeline):
    __slots__ = ()

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> list[Any]:
        outermost = _inside_cluster_call.set(True)
        try:
            return await super().execute(raise_on_error, allow_redirections)
        except REDIS_FAILURES as exc:
            raise redis_unavailable("the pipeline", exc) from exc
        finally:
            _inside_cluster_call.reset(outermost)
