"""The shared API budget: a token bucket in Redis, one for every process that uses the same Redis."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import orjson
import pytest
import redis
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from receiver.core.budget import ApiBudget, default_burst
from receiver.foundation.errors import RedisUnavailable
from receiver.foundation.redis_clients import MappedRedis
from tests.support import ROOT, free_port
from tests.support.waiting import wait_until


@pytest.fixture
async def budget(redis_url: str, prefix: str) -> AsyncIterator[ApiBudget]:
    client = Redis.from_url(redis_url)
    yield ApiBudget(client, prefix)
    await client.aclose()


def sample(name: str, source: str) -> float:
    return REGISTRY.get_sample_value(name, {"source": source}) or 0.0


async def test_a_burst_then_the_rate(budget: ApiBudget) -> None:
    assert [await budget.reserve("src", 10, 3) for _ in range(3)] == [0, 0, 0]
    delay = await budget.reserve("src", 10, 3)
    assert 0 < delay <= 0.1
    await asyncio.sleep(delay)
    assert await budget.reserve("src", 10, 3) == 0
    assert 0 < await budget.reserve("src", 10, 3) <= 0.1  # the one just freed is taken: wait again


async def test_a_refused_reservation_takes_nothing(budget: ApiBudget) -> None:
    assert await budget.reserve("src", 5, 1) == 0
    delays = [await budget.reserve("src", 5, 1) for _ in range(20)]
    # Asking again and again does not push the turn further away: each answer names the same moment.
    assert all(0 < delay <= 0.2 for delay in delays)
    assert delays == sorted(delays, reverse=True)
    await asyncio.sleep(delays[-1])
    assert await budget.reserve("src", 5, 1) == 0


async def test_sources_are_independent(budget: ApiBudget) -> None:
    assert await budget.reserve("a", 1, 1) == 0
    assert await budget.reserve("a", 1, 1) > 0.9
    assert await budget.reserve("b", 1, 1) == 0
    assert budget.key("a") != budget.key("b")


async def test_the_default_burst_is_the_rate_rounded_up(budget: ApiBudget) -> None:
    assert default_burst(2.5) == 3
    assert default_burst(0.2) == 1
    assert [await budget.reserve("src", 2.5) for _ in range(3)] == [0, 0, 0]
    assert await budget.reserve("src", 2.5) > 0


async def test_the_key_is_tagged_and_expires_once_the_bucket_is_full(
    budget: ApiBudget, rclient: redis.Redis, prefix: str
) -> None:
    for _ in range(4):
        await budget.reserve("src", 20, 4)
    assert budget.key("src") == f"{prefix}:{{budget}}:src"
    ttl_ms = rclient.pttl(budget.key("src"))
    # Four turns at 20 a second come back within 200 ms of the last one: the key lives no longer than
    # that (on a busy machine it may be gone already, -2), and never without a TTL (-1).
    assert ttl_ms == -2 or 0 < ttl_ms <= 200
    wait_until(lambda: not rclient.exists(budget.key("src")), timeout=5, interval=0.02)


async def test_take_waits_its_turn_and_counts_the_wait(budget: ApiBudget) -> None:
    waits = sample("videohooks_api_budget_waits_total", "inline")
    seconds = sample("videohooks_api_budget_wait_seconds_total", "inline")
    started = time.monotonic()
    assert await budget.take("inline", 20, 1) == 0
    waited = await budget.take("inline", 20, 1)
    elapsed = time.monotonic() - started
    # Turns at 20 a second are 50 ms apart on Redis's clock: the second take waited for its turn
    # (how much of it the first call's round trip already spent depends on the machine's load).
    assert 0 < waited <= elapsed
    assert 0.04 < elapsed < 0.5
    assert sample("videohooks_api_budget_waits_total", "inline") == waits + 1
    assert sample("videohooks_api_budget_wait_seconds_total", "inline") == pytest.approx(seconds + waited)


async def test_a_rescheduled_reservation_is_counted(budget: ApiBudget) -> None:
    waits = sample("videohooks_api_budget_waits_total", "resched")
    assert await budget.reserve("resched", 1, 1) == 0
    assert sample("videohooks_api_budget_waits_total", "resched") == waits
    delay = await budget.reserve("resched", 1, 1)
    assert sample("videohooks_api_budget_waits_total", "resched") == waits + 1
    assert sample("videohooks_api_budget_wait_seconds_total", "resched") >= delay


async def test_bad_limits_are_refused(budget: ApiBudget) -> None:
    with pytest.raises(ValueError, match="rate"):
        await budget.reserve("src", 0)
    with pytest.raises(ValueError, match="rate"):
        await budget.reserve("src", float("inf"))
    with pytest.raises(ValueError, match="burst"):
        await budget.reserve("src", 1, 0)


async def test_redis_down_is_redis_unavailable() -> None:
    client = MappedRedis(port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    budget = ApiBudget(client, "nowhere")
    with pytest.raises(RedisUnavailable, match="EVALSHA"):
        await budget.reserve("src", 10)
    with pytest.raises(RedisUnavailable):
        await budget.take("src", 10)
    await client.aclose()


def most_in_one_second(moments: list[float]) -> int:
    """The most moments any half-open one-second window [t, t + 1) holds."""
    ordered = sorted(moments)
    most, low = 0, 0
    for high, moment in enumerate(ordered):
        while ordered[low] <= moment - 1.0:
            low += 1
        most = max(most, high - low + 1)
    return most


def test_most_in_one_second() -> None:
    assert most_in_one_second([]) == 0
    assert most_in_one_second([0.0, 0.5, 0.99, 1.0, 1.5]) == 3
    assert most_in_one_second([0.0, 1.0, 2.0]) == 1


RATE, BURST, SECONDS = 10, 10, 3.0


def test_two_processes_share_one_budget(redis_url: str, prefix: str) -> None:
    """Two OS processes taking turns as fast as they can: together they never exceed the budget in
    any one-second window, and together they get about what it allows (burst + rate x duration)."""
    argv = [
        sys.executable,
        "-m",
        "tests.support.workers.budget",
        redis_url,
        prefix,
        "shared",
        str(RATE),
        str(BURST),
    ]
    workers = [
        subprocess.Popen(
            [*argv, str(SECONDS)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        start = time.time() + 0.2
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(f"{start}\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=30)[0] for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert [worker.returncode for worker in workers] == [0, 0]
    granted = [orjson.loads(output.strip().splitlines()[-1]) for output in outputs]
    assert all(grants for grants in granted), "each process got turns"
    # A turn asked for just before the end may be granted after it: count those asked and granted in time.
    merged = [moment for grants in granted for moment in grants if moment < start + SECONDS]
    print(
        f"{len(merged)} turns ({[len(grants) for grants in granted]}), most in one second: "
        f"{most_in_one_second(merged)}"
    )
    assert most_in_one_second(merged) <= RATE + BURST
    allowed = BURST + RATE * SECONDS
    assert 0.85 * allowed <= len(merged) <= allowed
