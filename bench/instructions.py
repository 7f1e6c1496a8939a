"""Instructions per call, counted by valgrind's callgrind: a figure this shared machine cannot blur.

Seconds drift by tens of percent within a minute here; instruction counts of the same work repeat to
within a fraction of a percent. `per_call(argv, small, large)` runs `argv + [str(n)]` under callgrind for
two counts n of the work and returns the difference over `large - small`: start-up, imports and set-up
cancel out. The command must do its work n times and nothing else that grows with n. Install valgrind
with apt-get where it is missing.
"""

from __future__ import annotations

import re
import subprocess

_COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(argv: list[str], env: dict[str, str] | None = None) -> int:
    """Every instruction the process ran (callgrind's total)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no total: {done.stderr[-500:]}")
    return int(found.group(1))


def per_call(argv: list[str], small: int, large: int, env: dict[str, str] | None = None) -> float:
    """Instructions per unit of work: the difference of two runs over the difference of their counts."""
    return (instructions([*argv, str(large)], env) - instructions([*argv, str(small)], env)) / (large - small)
