"""The cyclic garbage collector, tuned for a process that builds its long-lived state once, then works.

Everything built before the work starts (imported modules, the app, the loaded fixtures of a replay)
lives as long as the process: `gc.freeze()` takes it out of the collector's sight. The young generation
is let grow before a collection, because each delivery allocates a few thousand short-lived objects.
With the defaults, collections scanning the long-lived heap took about an eighth of a worker's time
under `make bench`, and a quarter of a 20,000-fixture `replay --direct`.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> None:
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
