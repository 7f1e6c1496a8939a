"""The ASGI app as uvicorn's worker processes build it: from the config file named in the environment.

`videohooks serve` validates the config, then names it in `VIDEOHOOKS_CONFIG` so that every worker,
including those uvicorn forks or spawns for `--workers`, loads the same file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette

from receiver.config import load_config
from receiver.foundation import heap, logs
from receiver.http.app import create_app


def create_app_from_env() -> Starlette:
    logs.configure(os.environ.get("VIDEOHOOKS_LOG_LEVEL", "info"))
    heap.reuse_large_buffers()
    app = create_app(load_config(os.environ.get("VIDEOHOOKS_CONFIG")), freeze_heap=True)
    heap.freeze_long_lived()
    return app


class GracefulServer(uvicorn.Server):
    """uvicorn's server, exiting 0 after a clean shutdown on a signal.

    Plain uvicorn raises the signal again once it has shut down, so the process dies of it and a
    supervisor cannot tell a clean stop from a crash. The drain before the shutdown (`/readyz` 503,
    then `[server] shutdown_delay_seconds` of serving on) is the app's, in `receiver/http/draining.py`,
    and works with any number of workers.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
