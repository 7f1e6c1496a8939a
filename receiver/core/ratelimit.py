"""Per-source rate limits on the callback route: token buckets in this process's memory.

The limit is checked after verification, which costs one HMAC over a body already bounded by
`max_body_bytes` and no Redis work, so that authentic and forged requests can draw from separate
buckets: a flood of forgeries runs dry in its own bucket (and is answered 429 instead of 401) while the
real provider's deliveries keep their full rate. Buckets live in process memory, so with N workers or
N replicas a source may receive up to N times its configured rate; the limit bounds the work one
process does, not a global quota.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from receiver.config import SourceConfig


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens a second up to `burst`; a request takes one token or is told how long to wait."""

    rate: float
    burst: int
    tokens: float = field(init=False)
    updated: float = field(init=False, default=-math.inf)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def take(self, now: float) -> float:
        """0 when a token was taken; else the seconds until one is available (nothing taken)."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimits:
    """Two buckets per limited source: one for authentic deliveries, one for everything refused as not."""

    def __init__(self, sources: Iterable[SourceConfig] = ()) -> None:
        self._buckets: dict[tuple[str, bool], TokenBucket] = {}
        for source in sources:
            if source.rate_limit_per_second is None:
                continue
            rate = source.rate_limit_per_second
            burst = source.rate_limit_burst or max(1, math.ceil(rate))
            for authentic in (True, False):
                self._buckets[(source.id, authentic)] = TokenBucket(rate, burst)

    def wait(self, source_id: str, authentic: bool, now: float) -> int:
        """Whole seconds to wait (the `Retry-After`), or 0 when the request may go on."""
        bucket = self._buckets.get((source_id, authentic))
        if bucket is None:
            return 0
        delay = bucket.take(now)
        return math.ceil(delay) if delay > 0 else 0
