"""Posts large memories.ai callbacks back to back on `connections` connections until stopped.

`python -m bench.heavy URL SIZE_BYTES CONNECTIONS TASK_PREFIX`: run by bench/headofline.py beside
wrk's small deliveries. Each post has its own task id and webhook id, signed right before it is sent;
on SIGTERM it prints one JSON line with the statuses it got and exits.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter

import httpx
import orjson

from bench.bodies import memories_body
from bench.payload import secret_key, signed_delivery

_MARK = "HEAVY-TASK-MARK"


async def post_back_to_back(
    url: str, template: bytes, worker: int, prefix: str, statuses: Counter[int]
) -> None:
    key = secret_key()
    async with httpx.AsyncClient(timeout=60) as client:
        for number in range(10**9):
            body, headers = signed_delivery(template, _MARK, f"{prefix}{worker}-{number}", key)
            response = await client.post(url, content=body, headers=headers)
            statuses[response.status_code] += 1


async def main(url: str, size: int, connections: int, prefix: str) -> None:
    template = memories_body(size, _MARK)
    statuses: Counter[int] = Counter()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    posters = [
        asyncio.create_task(post_back_to_back(url, template, n, prefix, statuses)) for n in range(connections)
    ]
    await stop.wait()
    for poster in posters:
        poster.cancel()
    print(orjson.dumps({"statuses": {str(code): n for code, n in statuses.items()}}).decode(), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
