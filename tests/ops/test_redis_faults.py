"""Redis goes away under load: 503 quickly, nothing acknowledged is lost, retries land once each.

The redis-server here runs with `appendonly yes` and `appendfsync always`, and is killed with SIGKILL:
a crash, with no chance to flush. With `always`, Redis fsyncs each write before replying, so every
write the receiver acknowledged (202) survives the restart; this is the configuration under which
the "never lost" promise holds across a Redis crash (with `everysec` up to a second of acknowledged
writes can be lost, see the README). Without persistence a restart would empty Redis, and the test
could not tell a lost acknowledged event from one that was never written.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.support import TOKEN, RedisServer, live_receiver, stream_entries, write_config
from tests.support.deliveries import memories_body
from tests.support.waiting import wait_for

DELIVERIES = 300
CONCURRENCY = 5


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", extra_args=("--appendonly", "yes", "--appendfsync", "always"))
    server.start()
    yield server
    server.stop()


async def test_redis_killed_and_restarted_under_load(durable_redis: RedisServer, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "videohooks.toml",
        f"""
[redis]
url = "{durable_redis.url}"
prefix = "faults"
timeout_seconds = 0.5

[[sources]]
id = "memories-main"
provider = "memories"
verify = "url-token"
secrets = ["{TOKEN}"]
""",
    )
    answers: dict[int, list[tuple[int, float, str | None]]] = {number: [] for number in range(DELIVERIES)}
    done = 0

    with live_receiver(config) as receiver:
        async with httpx.AsyncClient(base_url=receiver.url, timeout=10) as http:
            gate = asyncio.Semaphore(CONCURRENCY)

            async def send(number: int) -> int:
                nonlocal done
                async with gate:
                    started = time.monotonic()
                    answer = await http.post(
                        f"/v1/callbacks/memories-main/{TOKEN}", content=memories_body(f"load-{number}")
                    )
                    elapsed = time.monotonic() - started
                    answers[number].append((answer.status_code, elapsed, answer.headers.get("retry-after")))
                    done += 1
                    return answer.status_code

            async def break_redis() -> None:
                while done < 80:
                    await asyncio.sleep(0.01)
                await asyncio.to_thread(durable_redis.stop, signal.SIGKILL)
                outage_starts = done
                while done < outage_starts + 60:
                    await asyncio.sleep(0.01)
                await asyncio.to_thread(durable_redis.start)

            await asyncio.gather(break_redis(), *(send(number) for number in range(DELIVERIES)))

            refused = [number for number, tries in answers.items() if tries[-1][0] != 202]
            # Every refusal was a quick 503 asking for a retry.
            for number in refused:
                status, elapsed, retry_after = answers[number][-1]
                assert (status, retry_after) == (503, "5")
                assert elapsed < 2.0
            assert len(refused) >= 50  # the outage really happened under load

            # The providers retry whatever was not acknowledged, until it is (from when the receiver
            # is ready again: a round of retries before that is only more quick 503s).
            async def ready() -> bool:
                return (await http.get("/readyz")).status_code == 200

            async def all_acknowledged() -> bool:
                pending = [number for number, tries in answers.items() if tries[-1][0] != 202]
                await asyncio.gather(*(send(number) for number in pending))
                return all(tries[-1][0] == 202 for tries in answers.values())

            await wait_for(ready)
            await wait_for(all_acknowledged)

    assert all(tries[-1][0] == 202 for tries in answers.values())
    client = redis.Redis.from_url(durable_redis.url)
    published = [entry["task_id"].decode() for entry in stream_entries(client, "faults:events")]
    client.close()
    # Every delivery is in the stream exactly once: none lost (acknowledged before the crash or after),
    # none twice (a retry of an already-written delivery answers `duplicate`).
    assert sorted(published) == sorted(f"load-{number}" for number in range(DELIVERIES))
    acknowledged_first_time = [number for number, tries in answers.items() if tries[0][0] == 202]
    assert {f"load-{number}" for number in acknowledged_first_time} <= set(published)
