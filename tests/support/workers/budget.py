"""One process drawing turns from a shared API budget as fast as `take()` gives them.

`python -m tests.support.workers.budget REDIS_URL PREFIX SOURCE RATE BURST SECONDS`: prints `ready` once
imported and connected, reads the start time (unix seconds) from stdin, then from that time on takes
turns for SECONDS and prints the JSON list of the moments (unix seconds) each turn was granted.
"""

from __future__ import annotations

import asyncio
import sys
import time

import orjson
from redis.asyncio import Redis

from receiver.core.budget import ApiBudget


async def main(redis_url: str, prefix: str, source: str, rate: float, burst: int, seconds: float) -> None:
    redis = Redis.from_url(redis_url)
    await redis.ping()
    budget = ApiBudget(redis, prefix)
    print("ready", flush=True)
    start = float(sys.stdin.readline())
    await asyncio.sleep(max(0.0, start - time.time()))
    granted = []
    while time.time() < start + seconds:
        await budget.take(source, rate, burst)
        granted.append(time.time())
    await redis.aclose()
    print(orjson.dumps(granted).decode(), flush=True)


if __name__ == "__main__":
    url, key_prefix, source_id, rate_text, burst_text, seconds_text = sys.argv[1:]
    asyncio.run(main(url, key_prefix, source_id, float(rate_text), int(burst_text), float(seconds_text)))
