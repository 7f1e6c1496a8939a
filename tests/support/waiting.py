"""Waiting for a condition with a deadline, never for a fixed time: a busy machine makes a test slower,
not red, and an idle one does not wait longer than the condition takes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> None:
    """Return once `predicate()` is true; `TimeoutError` if it is still false after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


async def wait_for(
    predicate: Callable[[], Awaitable[object]], timeout: float = 10.0, interval: float = 0.02
) -> None:
    """`wait_until` for a condition read with awaits (Redis, the event loop's own tasks)."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
