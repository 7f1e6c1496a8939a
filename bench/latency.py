"""Latency from sending a callback to a consumer group reading its event.

What a downstream consumer actually waits for: the HTTP answer alone says nothing about when a
blocked XREADGROUP wakes up. Deliveries go one at a time, at a low rate, so the figure is the
unloaded path latency, not queueing under load.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import cast

import httpx
import orjson
import redis.asyncio as aioredis

from bench.deliveries import signed_delivery
from bench.redis_keys import Entry
from bench.settings import CALLBACK_PATH, redis_url

GROUP = "bench-latency"


@dataclass(frozen=True)
class LatencyResult:
    sent: int
    received: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def _measure(
    base_url: str, stream: str, task_prefix: str, count: int, interval_s: float
) -> LatencyResult:
    client = aioredis.Redis.from_url(redis_url())
    arrived: dict[str, float] = {}
    waiters: dict[str, asyncio.Event] = {}
    try:
        await client.xgroup_create(stream, GROUP, id="$", mkstream=True)

        async def consume() -> None:
            while True:
                reply = cast(
                    list[tuple[bytes, list[Entry]]],
                    await client.xreadgroup(GROUP, "bench", {stream: ">"}, count=100, block=1000),
                )
                now = time.perf_counter()
                for _key, entries in reply or []:
                    for entry_id, fields in entries:
                        task_id = str(orjson.loads(fields[b"event"])["task_id"])
                        arrived.setdefault(task_id, now)
                        if task_id in waiters:
                            waiters[task_id].set()
                        await client.xack(stream, GROUP, entry_id)

        consumer = asyncio.create_task(consume())
        latencies: list[float] = []
        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
                for i in range(count):
                    task_id = f"{task_prefix}{i:07d}"
                    headers, body = signed_delivery(task_id)
                    waiters[task_id] = asyncio.Event()
                    started = time.perf_counter()
                    response = await http.post(CALLBACK_PATH, content=body, headers=headers)
                    if response.status_code == 202:
                        try:
                            await asyncio.wait_for(waiters[task_id].wait(), timeout=5)
                            latencies.append((arrived[task_id] - started) * 1000)
                        except TimeoutError:
                            pass
                    await asyncio.sleep(interval_s)
        finally:
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
        await client.xgroup_destroy(stream, GROUP)
    finally:
        await client.aclose()
    return LatencyResult(
        sent=count,
        received=len(latencies),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies) if latencies else None,
    )


def consumer_latency(
    base_url: str, stream: str, task_prefix: str, count: int = 200, interval_s: float = 0.02
) -> LatencyResult:
    return asyncio.run(_measure(base_url, stream, task_prefix, count, interval_s))
