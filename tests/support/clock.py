"""A clock a test moves forward, for the app's and the job runner's `clock` parameter."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class MovableClock:
    """Unix time plus an offset: time runs as usual, and a test that must be past a window (a
    signature's tolerance, a watch's reconcile delay) skips ahead instead of sleeping through it."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
