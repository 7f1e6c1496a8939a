"""The Redis clients the receiver builds (receiver/foundation/redis_clients.py) raise the receiver's
own errors for every client failure, on a real server and on a port nothing listens on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, ResponseError

from receiver.foundation.errors import RedisRefused, RedisUnavailable
from receiver.foundation.redis_clients import MappedRedis
from tests.support import free_port


@pytest.fixture
async def down() -> AsyncIterator[MappedRedis]:
    client = MappedRedis(port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    yield client
    await client.aclose()


@pytest.fixture
async def up(redis_url: str) -> AsyncIterator[MappedRedis]:
    client = MappedRedis(connection_pool=BlockingConnectionPool.from_url(redis_url))
    yield client
    await client.aclose()


async def test_a_command_to_a_server_that_is_down_is_redis_unavailable_naming_it(down: MappedRedis) -> None:
    with pytest.raises(RedisUnavailable, match="redis did not answer GET: ConnectionError") as raised:
        await down.get("k")
    assert isinstance(raised.value.__cause__, ConnectionError)
    assert "connecting" not in str(raised.value)  # the client's text (host, port) stays in the cause


async def test_a_pipeline_and_a_script_to_a_server_that_is_down_are_unavailable(down: MappedRedis) -> None:
    for transaction in (True, False):
        async with down.pipeline(transaction=transaction) as pipe:
            pipe.get("k")
            with pytest.raises(RedisUnavailable, match="the pipeline") as raised:
                await pipe.execute()
            assert isinstance(raised.value.__cause__, ConnectionError)
    script = down.register_script("return 1")
    with pytest.raises(RedisUnavailable, match="EVALSHA"):
        await script(keys=[], args=[])


async def test_an_error_reply_is_redis_refused_with_the_reply(up: MappedRedis, prefix: str) -> None:
    with pytest.raises(RedisRefused, match="XGROUP") as raised:
        await up.xgroup_create(f"{prefix}:none", "g")  # no stream and no MKSTREAM
    assert isinstance(raised.value.__cause__, ResponseError)
    assert "requires the key to exist" in raised.value.reply


async def test_a_script_the_server_lacks_is_loaded_and_called(up: MappedRedis) -> None:
    """`NoScriptError` is not mapped: redis-py's script object loads the script on it and calls again."""
    await up.script_flush()
    script = up.register_script("return 'loaded'")
    assert await script(keys=[], args=[]) == b"loaded"


async def test_a_command_sent_while_watching_is_mapped(up: MappedRedis, prefix: str) -> None:
    async with up.pipeline() as pipe:
        await pipe.watch(f"{prefix}:w")
        with pytest.raises(RedisRefused, match="INCR"):
            await pipe.incr(f"{prefix}:w", "x")  # type: ignore[arg-type]
