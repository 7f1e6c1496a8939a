"""Decode throughput, today's code path against the baseline (bench/baseline/), in the same run.

`python -m bench.decode` prints it alone; `make bench` includes it. Decode means what a delivery costs
between the authentic bytes and the bytes published: the JSON gate, validation, normalization and the
event's serialization for the publisher. Each size is timed alternately with both paths (best of
`repeats`), with the process's gc settings as in production (`receiver.foundation.heap`), so that the ratio is
taken on the same machine minute. The item limit is raised for both: a 3 MiB memories body of short
segments holds more than the default 10,000.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from pydantic import BaseModel

from bench.baseline import bailian_v1 as baseline_bailian
from bench.baseline import memories_v1 as baseline_memories
from bench.baseline.decode import decode as baseline_decode
from bench.baseline.decode import event_to_json as baseline_to_json
from bench.bodies import bailian_body, memories_body
from bench.payload import memories_payload
from receiver.config import LimitsConfig
from receiver.core.decoding import decode, decode_resource
from receiver.foundation.heap import freeze_long_lived
from receiver.providers import PROVIDER_SCHEMAS
from schemas.event import event_to_json
from schemas.normalizing import DeliveryContext
from schemas.provider import Normalizer

MIB = 1024 * 1024
SIZES_MIB = (0.3, 1.0, 3.0)
LIMITS = LimitsConfig(max_items=1_000_000)


@dataclass(frozen=True)
class DecodeRow:
    provider: str
    size_bytes: int
    baseline_mb_s: float
    today_mb_s: float

    @property
    def ratio(self) -> float:
        return self.today_mb_s / self.baseline_mb_s


@dataclass(frozen=True)
class SmallRow:
    """One small delivery (the bench's 20-segment memories callback), in microseconds."""

    baseline_us: float
    today_us: float


Work = Callable[[], object]


def _paths(provider: str, body: bytes) -> tuple[Work, Work]:
    ctx = DeliveryContext(f"{provider}-bench", provider, datetime.now(UTC), None)
    old_versions: list[tuple[type[BaseModel], Normalizer]]
    if provider == "memories":
        old_versions = [(baseline_memories.Callback, baseline_memories.normalize)]

        def today() -> object:
            return event_to_json(decode(PROVIDER_SCHEMAS["memories"], body, ctx, LIMITS))
    else:
        old_versions = [(baseline_bailian.TaskResponse, baseline_bailian.normalize)]

        def today() -> object:
            return event_to_json(decode_resource(PROVIDER_SCHEMAS["bailian"], body, ctx, LIMITS))

    def baseline() -> object:
        # Serialized twice, as it was: once in decode to catch overflow, once by the publisher.
        return baseline_to_json(baseline_decode(old_versions, body, ctx, LIMITS))

    return baseline, today


def _best_pair(baseline: Work, today: Work, repeats: int, number: int = 1) -> tuple[float, float]:
    """The best seconds per call of each, timed alternately."""
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for index, work in enumerate((baseline, today)):
            started = time.perf_counter()
            for _ in range(number):
                work()
            best[index] = min(best[index], (time.perf_counter() - started) / number)
    return best[0], best[1]


def measure(repeats: int = 7) -> tuple[list[DecodeRow], SmallRow]:
    freeze_long_lived()
    rows = []
    for provider, build in (("memories", memories_body), ("bailian", bailian_body)):
        for size in SIZES_MIB:
            body = build(int(size * MIB))
            baseline, today = _paths(provider, body)
            old_s, new_s = _best_pair(baseline, today, repeats)
            rows.append(DecodeRow(provider, len(body), len(body) / old_s / 1e6, len(body) / new_s / 1e6))
    small = orjson.dumps(memories_payload("bench-small"))
    old_s, new_s = _best_pair(*_paths("memories", small), repeats, number=2_000)
    return rows, SmallRow(old_s * 1e6, new_s * 1e6)


def table(rows: list[DecodeRow], small: SmallRow) -> str:
    lines = [
        "decode (gate, validation, normalization, serialization), MB/s, best of the run:",
        f"  {'provider':<10}{'body':>10}{'baseline':>11}{'today':>9}{'ratio':>8}",
    ]
    for row in rows:
        lines.append(
            f"  {row.provider:<10}{row.size_bytes / MIB:>7.1f} MiB{row.baseline_mb_s:>11.0f}"
            f"{row.today_mb_s:>9.0f}{row.ratio:>7.2f}x"
        )
    lines.append(
        f"  small delivery (20 segments): {small.baseline_us:.1f} us baseline, {small.today_us:.1f} us today"
        f" ({small.baseline_us / small.today_us:.2f}x)"
    )
    return "\n".join(lines)


def main() -> None:
    print(table(*measure()))


if __name__ == "__main__":
    main()
