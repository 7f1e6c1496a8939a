"""Draining on SIGTERM or SIGINT: stop looking ready at once, keep serving a while, then stop.

A load balancer stops sending to a pod once its readiness check fails, not when the pod gets the
signal; stopping at once would refuse the deliveries already on their way. So the first signal flips
`/readyz` to 503, callbacks are still served for `[server] shutdown_delay_seconds`, and only then is the
signal handed to the server's own handler (uvicorn's graceful shutdown: stop accepting, finish what is
in flight). A second signal is handed over at once.

The app's lifespan installs this in every worker process, after uvicorn has installed its handlers
(uvicorn does so before it builds the app and runs the lifespan), so one worker or many behave the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from receiver.foundation.logs import logger

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def drain_on_signals(on_drain: Callable[[], None], delay_seconds: float) -> Iterator[None]:
    """While inside: the first SIGINT or SIGTERM calls `on_drain` and, `delay_seconds` later, the
    handler that was installed before; a second one goes to that handler at once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread (an in-process test client runs the app elsewhere)
        return
    loop = asyncio.get_running_loop()
    previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {
        sig: signal.getsignal(sig) for sig in SIGNALS
    }
    draining = False

    def hand_over(sig: int, frame: FrameType | None) -> None:
        handler = previous[sig]
        if callable(handler):
            handler(sig, frame)

    def on_signal(sig: int, frame: FrameType | None) -> None:
        nonlocal draining
        on_drain()
        if draining or delay_seconds <= 0:
            hand_over(sig, frame)
            return
        draining = True
        logger.info("draining", signal=signal.Signals(sig).name, delay_seconds=delay_seconds)
        # A signal handler may run in the middle of the loop's own work: schedule through the one
        # entry point that is safe from there.
        loop.call_soon_threadsafe(loop.call_later, delay_seconds, hand_over, sig, None)

    for name in SIGNALS:
        signal.signal(name, on_signal)
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:  # None: installed outside Python, nothing to put back
                signal.signal(number, handler)
