"""Decode throughput, this checkout against an earlier revision fetched from git, in the same run.

`python -m bench.decode [--before REV]` prints it alone; `make bench` includes it (before: 3dc598d, the
code path before issue 18). Decode means what a delivery costs between the authentic bytes and the bytes
published: the JSON gate, validation, normalization and the event's serialization for the publisher.
The revision is exported with `git archive` as `bench/ab.py` does, and each side runs in its own child
process (`bench/decode_worker.py`, with the process's gc settings as in production); each size is timed
alternately on both sides (best of `repeats`), so that the ratio is taken on the same machine minute.
The item limit is raised for both: a 3 MiB memories body of short segments holds more than the
default 10,000.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.ab import export
from bench.bodies import bailian_body, memories_body
from bench.payload import memories_payload
from bench.settings import BENCH_DIR, PYTHON, ROOT_DIR, WORK_DIR

MIB = 1024 * 1024
SIZES_MIB = (0.3, 1.0, 3.0)
BEFORE = "3dc598d"  # the last revision before issue 18's decode work


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


class _Side:
    """One revision's decode worker, answering timing requests."""

    def __init__(self, tree: Path) -> None:
        self._process = subprocess.Popen(
            [PYTHON, "-P", str(BENCH_DIR / "decode_worker.py")],
            env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def seconds(self, provider: str, path: Path, number: int) -> float:
        assert self._process.stdin is not None and self._process.stdout is not None
        request = {
            "provider": provider,
            "path": str(path),
            "resource": provider == "bailian",
            "number": number,
        }
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the decode worker left (exit {self._process.wait()})")
        return float(answer)

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)


@contextlib.contextmanager
def _sides(before: str) -> Iterator[tuple[_Side, _Side]]:
    old, new = _Side(export(before)), _Side(ROOT_DIR)
    try:
        yield old, new
    finally:
        old.close()
        new.close()


def _best_pair(
    sides: tuple[_Side, _Side], provider: str, path: Path, repeats: int, number: int = 1
) -> list[float]:
    """The best seconds per call of each side, timed alternately."""
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for index, side in enumerate(sides):
            best[index] = min(best[index], side.seconds(provider, path, number))
    return best


def measure(repeats: int = 7, before: str = BEFORE) -> tuple[list[DecodeRow], SmallRow]:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    rows = []
    with _sides(before) as sides:
        for provider, build in (("memories", memories_body), ("bailian", bailian_body)):
            for size in SIZES_MIB:
                body = build(int(size * MIB))
                path = WORK_DIR / f"decode-{provider}-{size}.json"
                path.write_bytes(body)
                old_s, new_s = _best_pair(sides, provider, path, repeats)
                rows.append(DecodeRow(provider, len(body), len(body) / old_s / 1e6, len(body) / new_s / 1e6))
        path = WORK_DIR / "decode-small.json"
        path.write_bytes(orjson.dumps(memories_payload("bench-small")))
        old_s, new_s = _best_pair(sides, "memories", path, repeats, number=2_000)
    return rows, SmallRow(old_s * 1e6, new_s * 1e6)


def table(rows: list[DecodeRow], small: SmallRow) -> str:
    lines = [
        "decode (gate, validation, normalization, serialization), MB/s, best of the run:",
        f"  {'provider':<10}{'body':>10}{'before':>11}{'today':>9}{'ratio':>8}",
    ]
    for row in rows:
        lines.append(
            f"  {row.provider:<10}{row.size_bytes / MIB:>7.1f} MiB{row.baseline_mb_s:>11.0f}"
            f"{row.today_mb_s:>9.0f}{row.ratio:>7.2f}x"
        )
    lines.append(
        f"  small delivery (20 segments): {small.baseline_us:.1f} us before, {small.today_us:.1f} us today"
        f" ({small.baseline_us / small.today_us:.2f}x)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.decode", description=__doc__)
    parser.add_argument("--before", default=BEFORE, help=f"the git revision to compare with ({BEFORE})")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    print(table(*measure(args.repeats, args.before)))


if __name__ == "__main__":
    main()
