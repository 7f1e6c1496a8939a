"""JSON logs, one object per line, through structlog.

One line per delivery (source, outcome, event id, request id), written by the app; with tracing on
(`[telemetry]`), every line written inside a span carries its `trace_id` too. No secret, token or
signature is ever passed to a logger: the callback path is logged as its route, not as the URL.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import IO, Any

import orjson
import structlog

from receiver.foundation import tracing


class TurnFlushedLogger:
    """Writes each line into stdout's buffer and flushes once per turn of the event loop.

    A flush is a system call: one per delivery cost a few percent of a worker's time under load, while
    every line written during one turn of the loop can go out in one. Outside a running loop (the
    CLI, start-up) each line is flushed at once. A crash loses at most the lines of its last turn.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._flush_scheduled = False

    def msg(self, message: bytes) -> None:
        self._stream.write(message + b"\n")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._stream.flush()
            return
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def configure(level: str = "info") -> None:
    writer = TurnFlushedLogger(sys.stdout.buffer)

    def factory(*_args: Any) -> TurnFlushedLogger:
        return writer

    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            tracing.add_trace_id,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )


logger = structlog.get_logger("videohooks")
