"""The ASGI app as uvicorn's worker processes build it: from the config file named in the environment.

`videohooks serve` validates the config, then names it in `VIDEOHOOKS_CONFIG` so that every worker,
including those uvicorn forks or spawns for `--workers`, loads the same file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from receiver import heap, logs
from receiver.app import create_app
from receiver.config import load_config
from receiver.logs import logger


def create_app_from_env() -> Starlette:
    logs.configure(os.environ.get("VIDEOHOOKS_LOG_LEVEL", "info"))
    app = create_app(load_config(os.environ.get("VIDEOHOOKS_CONFIG")))
    heap.freeze_long_lived()
    return app


class GracefulServer(uvicorn.Server):
    """uvicorn's server, with a shutdown a load balancer can follow and an exit code of 0.

    On SIGTERM (or SIGINT) the app's `Runtime.shutting_down` flips at once, so `/readyz` answers 503,
    while callbacks are still served for `[server] shutdown_delay_seconds`; then uvicorn's own graceful
    shutdown runs: the listening socket closes, in-flight requests finish (each one answered only once
    its write is in Redis), and the lifespan waits for every batch already sent. A second signal skips
    the delay. Unlike plain uvicorn, the signal is not raised again after a clean shutdown, so the
    process exits 0 and a supervisor can tell a clean stop from a crash.
    """

    def __init__(self, config: uvicorn.Config, app: Starlette, delay_seconds: float) -> None:
        super().__init__(config)
        self._app = app
        self._delay_seconds = delay_seconds
        self._draining_since: float | None = None

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

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        runtime = getattr(self._app.state, "runtime", None)
        if runtime is not None:
            runtime.shutting_down = True
        if self._draining_since is None and self._delay_seconds > 0:
            self._draining_since = time.monotonic()
            logger.info("draining", signal=signal.Signals(sig).name, delay_seconds=self._delay_seconds)
        else:
            self.should_exit = True

    async def on_tick(self, counter: int) -> bool:
        if (
            self._draining_since is not None
            and time.monotonic() - self._draining_since >= self._delay_seconds
        ):
            self.should_exit = True
        return await super().on_tick(counter)
