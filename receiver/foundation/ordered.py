"""Many deliveries through the pipeline at once, each handed to the publisher in the order given.

A fixed set of workers takes the items in order: each runs its item up to the publish (decoding is
synchronous, and the publisher queues an event before its first await), then waits for Redis while
the others take theirs. Publishes share round trips (one script call per batch) and reach the stream
in the items' order, which a task's events must keep. Used by `replay --direct` and DLQ redrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Enough deliveries in flight to fill publish batches, few enough to bound memory.
CONCURRENCY = 512


async def in_order(
    items: Sequence[Item], work: Callable[[int, Item], Awaitable[Result]], concurrency: int = CONCURRENCY
) -> list[Result]:
    """`work(index, item)` for every item, started in order, `concurrency` at a time; results in order."""
    taken = iter(enumerate(items))
    results: dict[int, Result] = {}

    async def worker() -> None:
        for index, item in taken:
            results[index] = await work(index, item)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(items)))))
    return [results[index] for index in range(len(items))]
