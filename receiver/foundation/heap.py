"""The heap, tuned for a process that builds its long-lived state once, then works.

Everything built before the work starts (imported modules, the app, the loaded fixtures of a replay)
lives as long as the process: `gc.freeze()` takes it out of the collector's sight. The young generation
is let grow before a collection, because each delivery allocates a few thousand short-lived objects.
With the defaults, collections scanning the long-lived heap took about an eighth of a worker's time
under `make bench`, and a quarter of a 20,000-fixture `replay --direct`.

Large buffers (a body of megabytes, its copies for the signature, the decode process and the publish
command) are kept by the C allocator for reuse instead of being mapped fresh and returned each time:
on this kind of virtual machine a freshly mapped megabyte costs about 0.4 ms of page faults, more than
copying it.
"""

from __future__ import annotations

import ctypes
import gc

# glibc's mallopt(3) parameters, and the values chosen: blocks up to 16 MiB come from the heap (not one
# mmap each), and the heap keeps up to 32 MiB free at its top before giving memory back.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 16 * 1024 * 1024
_TRIM_THRESHOLD_BYTES = 32 * 1024 * 1024


# PERF: the collector ignores start-up's objects (bench/README.md, index: make bench).
def freeze_long_lived() -> None:
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


# PERF: large buffers reused, not mapped fresh each time (bench/README.md, index: head-of-line).
def reuse_large_buffers() -> None:
    """Where the C library is glibc, keep freed large blocks for reuse; elsewhere nothing changes."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)
