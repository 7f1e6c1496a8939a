"""Around every request: its id, the safety net for the unexpected, and one handler per error branch.

Routes raise from the tree in receiver/foundation/errors.py; the handlers here answer each branch in
the one JSON error shape, and the `SafetyNet` answers what nobody expected, so that no request ever
gets a bare 500.
"""

from __future__ import annotations

import itertools
import uuid

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from receiver.foundation import metrics
from receiver.foundation.errors import ErrorAnswer, Unavailable, unavailable
from receiver.foundation.logs import logger
from receiver.http.responses import error_body, json_response, send_json

# Request ids a process makes itself: a random per-process prefix and a counter, unique without
# asking the OS for randomness on every request (uuid4 does).
_REQUEST_ID_PREFIX = uuid.uuid4().hex[:12]

_request_counter = itertools.count(1)


def next_request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_counter):08x}"


class SafetyNet:
    """Around every request, the fast callback path included: an `x-request-id` on every answer
    (the sender's own, if it gave one), and for anything no handler expected, a JSON 500 with that
    id, a `request.failed` log line with the traceback, and `videohooks_internal_errors_total`.

    It sits outside Starlette's own error middleware, so that no request can ever get a bare 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # PERF: the one header read from the raw list (bench/README.md, index: bench.ab).
        request_id = (
            next(
                (value.decode("latin-1")[:64] for name, value in scope["headers"] if name == b"x-request-id"),
                "",
            )
            or next_request_id()
        )
        scope.setdefault("state", {})["request_id"] = request_id
        started = False
        id_header = (b"x-request-id", request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            metrics.child(metrics.INTERNAL_ERRORS, exc.__class__.__name__).inc()
            logger.exception(
                "request.failed",
                request_id=request_id,
                method=scope.get("method"),
                error=exc.__class__.__name__,
            )
            if started:
                raise  # the answer is half sent: only the server can end the connection now
            answer = ErrorAnswer(500, "internal_error", "the receiver failed unexpectedly: see its logs")
            await send_json(send_with_id, 500, error_body(answer), {})


async def answer_error(request: Request, exc: Exception) -> Response:
    """Every `ErrorAnswer` a route raises, as the JSON error shape."""
    assert isinstance(exc, ErrorAnswer)
    return json_response(exc.status, error_body(exc), exc.headers)


async def answer_unavailable(request: Request, exc: Exception) -> Response:
    """A store did not confirm a write, or did not answer a read, the route needed: 503, try again later.

    Registered for the `Unavailable` branch, which every Redis client failure is raised as, so that a
    route reading Redis directly (the dead letters, the events) needs no handler of its own.
    """
    assert isinstance(exc, Unavailable)
    return await answer_error(request, unavailable(f"{exc}: retry later"))


async def routing_error(request: Request, exc: Exception) -> Response:
    """No route or no such method: the same JSON error shape as every other refusal, not Starlette's text."""
    assert isinstance(exc, HTTPException)
    # The path is not echoed: on a url-token route it holds the secret.
    if exc.status_code == 405:
        answer = ErrorAnswer(405, "method_not_allowed", f"this route does not take {request.method}")
    else:
        answer = ErrorAnswer(exc.status_code, "not_found", "no route matches this path")
    return json_response(answer.status, error_body(answer), exc.headers)
