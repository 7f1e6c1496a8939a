"""Acknowledge a publish only once `[redis] wait_replicas` replicas hold it (`WAIT` after the script).

Redis replicates asynchronously: a master that dies right after answering can take the write with it
when a replica that had not yet received it is promoted. `WAIT n timeout` closes that gap, but it
counts the replicas that hold every earlier write *of the calling connection*, so it must follow the
script on the same connection. Both therefore travel in one non-transactional pipeline; on a cluster
both are pinned to the node that owns the batch's hash slot (every key of a batch shares one slot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError, NoScriptError, TimeoutError

from receiver.foundation.errors import REDIS_FAILURES, RedisUnavailable, redis_unavailable
from receiver.foundation.keys import AnyRedis


class NotReplicated(RedisUnavailable):
    """The write was made but fewer replicas than configured confirmed it in time: not yet durable."""


@dataclass(frozen=True, slots=True)
class ReplicaWait:
    replicas: int
    timeout_ms: int

    async def evalsha(
        self, redis: AnyRedis, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        """Run a script, loading it first where the node lacks it (a promoted replica, a restarted node)."""
        command = (len(keys), *keys, *args)
        try:
            return await self.execute(redis, keys[0], "EVALSHA", script.sha, *command)
        except NoScriptError:
            await redis.script_load(script.script)
            return await self.execute(redis, keys[0], "EVALSHA", script.sha, *command)

    async def execute(self, redis: AnyRedis, key: str, *command: Any) -> Any:
        """`command`'s result once `replicas` replicas acknowledged it; raises `NotReplicated` if not."""
        wait = ("WAIT", self.replicas, self.timeout_ms)
        if isinstance(redis, RedisCluster):
            try:
                await redis.initialize()  # a no-op unless the slot map is missing or known stale
            except REDIS_FAILURES as exc:
                raise redis_unavailable("the cluster's slot map", exc) from exc
            node = redis.get_node_from_key(key)
            try:
                async with redis.pipeline() as cluster_pipe:
                    cluster_pipe.execute_command(*command, target_nodes=node)
                    cluster_pipe.execute_command(*wait, target_nodes=node)
                    written, acknowledged = await cluster_pipe.execute(raise_on_error=False)
            except RedisUnavailable as exc:
                if isinstance(exc.__cause__, ConnectionError | TimeoutError):
                    # The node is gone (a failover under way): drop the slot map so that the next call
                    # asks the cluster who serves the slot now, as the client's own commands do.
                    await redis.aclose()
                raise
        else:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.execute_command(*command)
                pipe.execute_command(*wait)
                written, acknowledged = await pipe.execute(raise_on_error=False)
        # The pipeline hands each command's failure back as its result, past the client's mapping.
        for name, result in ((command[0], written), ("WAIT", acknowledged)):
            if isinstance(result, NoScriptError):
                raise result
            if isinstance(result, Exception):
                raise redis_unavailable(name, result) from result
        if int(acknowledged) < self.replicas:
            raise NotReplicated(
                f"{acknowledged} of {self.replicas} replica(s) acknowledged the write "
                f"within {self.timeout_ms} ms"
            )
        return written
