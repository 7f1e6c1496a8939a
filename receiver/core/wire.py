"""The publish script's call written straight on a pooled redis-py connection.

`Redis.execute_command` wraps every call in retry, observability and response-callback layers that the
publisher does not use (retries are off, the reply is read as it is); a batch's `EVALSHA` is packed by
hiredis and sent on a connection taken from the same pool, and its reply read by that connection's own
parser. The pool keeps what matters: connecting, TLS, AUTH, the bounded blocking checkout that is the
service's backpressure, and a sentinel pool's master discovery. Bypassing the client, it maps the
client's failures itself, as the client would (receiver/foundation/redis_clients.py). A cluster, and a
publish followed by `WAIT`, keep redis-py's own path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from receiver.foundation.errors import REDIS_FAILURES, redis_unavailable


# PERF: measured by `python -m bench.publish_cost` (bench/README.md, index: publish_cost).
class ScriptWire:
    """`EVALSHA` of one script, on a non-cluster client's pool."""

    def __init__(self, redis: Redis, script: AsyncScript) -> None:
        self._redis = redis
        self._script = script
        self._head = ("EVALSHA", script.sha)

    async def call(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """The script's reply; loads the script first where the server lacks it (a restarted server).
        Raises `RedisUnavailable`."""
        command = hiredis.pack_command((*self._head, len(keys), *keys, *args))
        try:
            try:
                return await self._roundtrip(command)
            except NoScriptError:
                await self._redis.script_load(self._script.script)
                return await self._roundtrip(command)
        except REDIS_FAILURES as exc:
            raise redis_unavailable("EVALSHA", exc) from exc

    async def _roundtrip(self, command: bytes) -> Any:
        pool = self._redis.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            # The reply is read whole or the connection dropped (`read_response` disconnects on any
            # error but a server's error reply), so nothing half-read goes back to the pool.
            await connection.send_packed_command(command, check_health=False)
            return await connection.read_response()
        finally:
            await pool.release(connection)
