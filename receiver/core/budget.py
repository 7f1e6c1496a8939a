"""One API budget per source, shared by every process that uses the same Redis.

A provider limits how often its API may be called per account, not per receiver process: fetches,
polls, reconciliation and result-file downloads of a source, from however many workers and
replicas, all draw from one budget. It is a token bucket refilled at `rate` tokens a second and
holding at most `burst`, kept as GCRA (one "theoretical arrival time" per source) in a single Redis
key and updated by one Lua script, so that asking is atomic across processes. The script reads the
Redis server's clock (`TIME`), so the processes' own clocks do not matter.

In any interval of T seconds the bucket grants at most `burst + rate * T` requests: no one-second
window sees more than `rate + burst`.

Key: `<prefix>:{budget}:<source_id>`, one per call (its `{budget}` hash tag keeps all budgets in one
slot of a cluster). It expires once the bucket is full again, so an idle source costs nothing.
"""

from __future__ import annotations

import asyncio
import math
import time

from receiver.foundation import metrics
from receiver.foundation.keys import AnyRedis
from receiver.providers import PROVIDERS
from receiver.sources import SourceConfig

# GCRA: `tat` is when the bucket would be full again (microseconds of the server's clock). A request
# is granted when, with it counted, the bucket would be full no later than `burst` intervals from now.
# ARGV: rate (tokens per second), burst. Returns 0 (a token taken) or the microseconds until one is free.
_RESERVE = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = 1000000 / tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local new_tat = tat + interval
local wait = new_tat - burst * interval - now
if wait > 0 then
  return math.ceil(wait)
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return 0
"""

# The provider said to wait (429, Retry-After): no grant for anyone until ARGV[3] seconds from now.
# ARGV: rate, burst, seconds. The bucket is moved to "empty at that moment", never back.
_PAUSE = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = 1000000 / tonumber(ARGV[1])
local until_tat = now + tonumber(ARGV[3]) * 1000000 + (tonumber(ARGV[2]) - 1) * interval
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_tat > tat then
  redis.call('SET', KEYS[1], string.format('%.3f', until_tat), 'PX', math.ceil((until_tat - now) / 1000))
end
return 0
"""


def default_burst(rate: float) -> int:
    """`api_rate_limit_burst` when a source sets none: one second's worth of requests, rounded up."""
    return max(1, math.ceil(rate))


class ApiBudget:
    """Turns to call a provider's API, taken from each source's shared bucket in Redis."""

    def __init__(self, redis: AnyRedis, prefix: str) -> None:
        self._prefix = prefix
        self._script = redis.register_script(_RESERVE)
        self._pause = redis.register_script(_PAUSE)

    def key(self, source_id: str) -> str:
        return f"{self._prefix}:{{budget}}:{source_id}"

    async def reserve(self, source_id: str, rate: float, burst: int | None = None) -> float:
        """0 when a turn was taken now; else the seconds until one is free, nothing taken.

        For work that can be rescheduled (a job returns `RunAgain(now + delay)`) instead of waiting.
        Raises `RedisUnavailable`.
        """
        delay = await self._ask(source_id, rate, burst)
        if delay:
            _count_wait(source_id, delay)
        return delay

    async def take(self, source_id: str, rate: float, burst: int | None = None) -> float:
        """Wait for a turn and take it, for a request that must go out now; returns the seconds waited.

        Sleeps the delay Redis names, then asks again (another process may have taken that turn).
        Raises `RedisUnavailable`.
        """
        delay = await self._ask(source_id, rate, burst)
        if not delay:
            return 0.0
        started = time.monotonic()
        while delay:
            await asyncio.sleep(delay)
            delay = await self._ask(source_id, rate, burst)
        waited = time.monotonic() - started
        _count_wait(source_id, waited)
        return waited

    async def reserve_for(self, source: SourceConfig) -> float:
        """`reserve` with the source's own limits (`api_rate_limit_per_second`, `api_rate_limit_burst`,
        else its provider's documented limit)."""
        return await self.reserve(source.id, *limits(source))

    async def pause(self, source: SourceConfig, seconds: float) -> None:
        """The provider asked for a pause (429, `Retry-After`): no process calls its API for `seconds`,
        whichever task it is working on. Raises `RedisUnavailable`."""
        rate, burst = limits(source)
        await self._pause(keys=[self.key(source.id)], args=[repr(float(rate)), burst, repr(float(seconds))])

    async def _ask(self, source_id: str, rate: float, burst: int | None) -> float:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"the rate must be a positive number of requests per second, not {rate!r}")
        if burst is not None and burst < 1:
            raise ValueError(f"the burst must be at least 1, not {burst!r}")
        args: list[str | int] = [repr(float(rate)), default_burst(rate) if burst is None else burst]
        micros = await self._script(keys=[self.key(source_id)], args=args)
        return int(micros) / 1_000_000


def limits(source: SourceConfig) -> tuple[float, int]:
    """The source's rate and burst: its own, else its provider's documented rate and one second of it."""
    rate = source.api_rate_limit_per_second or PROVIDERS[source.provider].api_rate_limit_per_second
    return rate, source.api_rate_limit_burst or default_burst(rate)


def _count_wait(source_id: str, seconds: float) -> None:
    metrics.child(metrics.BUDGET_WAITS, source_id).inc()
    metrics.child(metrics.BUDGET_WAIT_SECONDS, source_id).inc(seconds)
