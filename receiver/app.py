"""The HTTP surface: signed callback endpoints, the admin routes, health, and metrics.

A callback is answered only after its outcome is settled in Redis: 202 `accepted`, `duplicate`,
`stale` or `quarantined` once Redis confirmed the write (or found nothing to write), 401 when it is not
authentic (nothing stored), 503 with `Retry-After` when Redis could not confirm a write in time.

Errors are the framework's: routes raise from the tree in receiver/errors.py, one handler per branch
answers it, and the `SafetyNet` around everything answers what nobody expected.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from receiver import events_view, heap, metrics, poll, tracing
from receiver.config import Config
from receiver.connection import AnyRedis, open_pipeline
from receiver.console import console_mount
from receiver.dlq import DeadLetters
from receiver.draining import drain_on_signals
from receiver.errors import (
    REDIS_CLIENT_ERRORS,
    REDIS_FAILURES,
    ErrorAnswer,
    Quarantine,
    RedisUnavailable,
    Unauthentic,
    redis_errors,
    unavailable,
)
from receiver.jobs import JobQueue
from receiver.logs import logger
from receiver.pipeline import Pipeline, summarize_errors
from receiver.providers import PROVIDERS
from receiver.ratelimit import RateLimits
from receiver.sources import SourceConfig
from receiver.taskrecord import read_task
from receiver.unproven import warn_unproven
from receiver.verifiers import SCHEMES, Verifier, verifier_for
from receiver.work import background_work

# The committed description of this HTTP surface; a test keeps it in step with the routes below.
OPENAPI_DOCUMENT = files("receiver").joinpath("openapi.json").read_bytes()


def json_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


async def send_json(send: Send, status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    """What `json_response(...)` would send, sent without building a Response, for the callback route."""
    await send_raw_json(send, status, orjson.dumps(body), headers)


async def send_raw_json(send: Send, status: int, content: bytes, headers: Mapping[str, str] = {}) -> None:
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        *((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": content})


def error_body(error: ErrorAnswer) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message}}


@dataclass
class Runtime:
    """What the routes share: built in the lifespan, torn down after the last request."""

    config: Config
    redis: AnyRedis
    pipeline: Pipeline
    verifiers: dict[str, Verifier]
    shutting_down: bool = False
    rate_limits: RateLimits = field(default_factory=RateLimits)
    # What the routes take for now (signature windows, rate buckets); a test moves it instead of sleeping.
    clock: Callable[[], float] = time.time


async def read_body(request: Request, limit: int) -> bytes:
    return await read_limited(request.receive, request.headers, limit)


async def read_limited(receive: Receive, headers: Headers, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit`, never held whole beyond it."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ErrorAnswer(413, "payload_too_large", f"the body exceeds {limit} bytes")
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ErrorAnswer(413, "payload_too_large", f"the body exceeds {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def callback_source(runtime: Runtime, source_id: str, token: str | None) -> SourceConfig:
    source = runtime.config.source(source_id)
    if source is None:
        raise ErrorAnswer(404, "unknown_source", f"no source {source_id!r} is configured")
    if PROVIDERS[source.provider].callbacks is None:
        raise ErrorAnswer(404, "unknown_source", f"source {source_id!r} is poll-only and takes no callbacks")
    if token is not None and not SCHEMES[source.verify].token_in_path:
        raise ErrorAnswer(404, "unknown_source", f"source {source_id!r} takes no token in its callback URL")
    return source


class CallbackEndpoint:
    """`POST /v1/callbacks/{source_id}[/{token}]`, as a plain ASGI app.

    The route on every provider's retry path skips Starlette's Request and the per-route wrapper
    around it (about a fifth of a delivery's time in a profile under load); it reads the body from
    `receive` and answers like every other route. What it does not expect is the safety net's
    (`SafetyNet`), as for every other route.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The delivery's trace span holds everything below, the log line included (receiver/tracing.py).
        with tracing.delivery(scope):
            await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        runtime: Runtime = scope["app"].state.runtime
        headers = Headers(scope=scope)
        request_id: str = scope["state"]["request_id"]
        source_id: str = scope["path_params"]["source_id"]
        token: str | None = scope["path_params"].get("token")
        try:
            source = callback_source(runtime, source_id, token)
            try:
                body = await read_limited(
                    receive, headers, source.max_body_bytes or runtime.config.server.max_body_bytes
                )
            except ClientDisconnect:
                return  # the sender left mid-body: nothing was stored and nobody waits for an answer
            now = runtime.clock()
            provider = PROVIDERS[source.provider]
            try:
                try:
                    with tracing.span("verify"):
                        delivery_id = await runtime.verifiers[source.id].verify(headers, body, token, now)
                except Unauthentic:
                    check_rate(runtime, source.id, False, now)
                    raise
                except Quarantine as unproven:
                    # A form the scheme can neither prove nor disprove: kept for an operator, never
                    # published (and never redriven, see receiver/dlq.py).
                    outcome = await runtime.pipeline.keep(
                        source, body, headers, datetime.now(UTC), None, unproven
                    )
                else:
                    check_rate(runtime, source.id, True, now)
                    if provider.handshake is not None and (answer := provider.handshake(body)) is not None:
                        await send_raw_json(send, 200, answer)
                        return
                    outcome = await runtime.pipeline.deliver(
                        source, body, headers, datetime.now(UTC), delivery_id
                    )
            except RedisUnavailable as exc:
                raise unavailable("the delivery could not be stored: retry later") from exc
        except ErrorAnswer as error:
            label = _ERROR_OUTCOMES.get(error.status, error.code)
            # An unknown id is a sender's free text: it is counted under "" to keep the label set bounded.
            metric_source = source_id if runtime.config.source(source_id) is not None else ""
            metrics.child(metrics.DELIVERIES, metric_source, label).inc()
            # Refusals are timed too: a 503 that waited out the Redis timeout is what an operator looks for.
            metrics.child(metrics.REQUEST_SECONDS, metric_source).observe(time.perf_counter() - started)
            tracing.annotate(source=source_id, outcome=label)
            logger.warning(
                "delivery",
                request_id=request_id,
                source=source_id,
                outcome=label,
                status=error.status,
                code=error.code,
                detail=error.message,
            )
            await send_json(send, error.status, error_body(error), error.headers)
            return

        metrics.child(metrics.DELIVERIES, source.id, outcome.status).inc()
        metrics.child(metrics.REQUEST_SECONDS, source.id).observe(time.perf_counter() - started)
        tracing.annotate(source=source.id, provider=source.provider, outcome=outcome.status)
        logger.info(
            "delivery",
            request_id=request_id,
            source=source.id,
            outcome=outcome.status,
            event_id=outcome.event_id,
            reason=outcome.reason,
        )
        body_out: dict[str, Any] = {"status": outcome.status}
        if outcome.event_id:
            body_out["event_id"] = outcome.event_id
        if outcome.reason:
            body_out["reason"] = outcome.reason
        await send_json(send, provider.success_status, body_out, {})


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


def check_rate(runtime: Runtime, source_id: str, authentic: bool, now: float) -> None:
    """429 once the source's bucket for authentic (or for refused) requests is empty."""
    wait = runtime.rate_limits.wait(source_id, authentic, now)
    if wait:
        raise ErrorAnswer(
            429,
            "rate_limited",
            f"too many requests for source {source_id!r}: retry in {wait} s",
            {"retry-after": str(wait)},
        )


def require_admin(request: Request) -> Runtime:
    """Admin routes take `Authorization: Bearer <[admin] token>`; with no token configured: off (404)."""
    runtime: Runtime = request.app.state.runtime
    configured = runtime.config.admin.token
    if configured is None:
        raise ErrorAnswer(404, "not_found", "admin routes are off: no [admin] token is configured")
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise ErrorAnswer(401, "invalid_token", "admin routes need Authorization: Bearer <token>")
    expected = hashlib.sha256(configured.get_secret_value().encode()).digest()
    if not hmac.compare_digest(expected, hashlib.sha256(presented.strip().encode()).digest()):
        raise ErrorAnswer(401, "invalid_token", "the bearer token is not the admin token")
    return runtime


# A watch request is a task id in a small JSON object.
MAX_WATCH_BODY_BYTES = 4096


async def watch_task(request: Request) -> Response:
    """`POST /v1/sources/{source_id}/tasks`: start watching a task (admin)."""
    runtime = require_admin(request)
    source_id: str = request.path_params["source_id"]
    source = runtime.config.source(source_id)
    if source is None:
        raise ErrorAnswer(404, "unknown_source", f"no source {source_id!r} is configured")
    problem = poll.unwatchable(source)
    if problem is not None:
        raise ErrorAnswer(409, "not_pollable", problem)
    body = await read_body(request, MAX_WATCH_BODY_BYTES)
    try:
        task_id = poll.WatchRequest.model_validate_json(body).task_id
    except ValidationError as exc:
        raise ErrorAnswer(
            400, "invalid_request", f'expected {{"task_id": "..."}}: {summarize_errors(exc)}'
        ) from None
    created = await poll.watch(
        JobQueue(runtime.redis, runtime.config.redis.prefix), source, task_id, runtime.clock()
    )
    status = "watching" if created else "already_watching"
    return json_response(202, {"status": status, "source": source.id, "task_id": task_id})


async def task_record(request: Request) -> Response:
    """`GET /v1/sources/{source_id}/tasks/{task_id}`: what the receiver knows of a task (admin)."""
    runtime = require_admin(request)
    source_id: str = request.path_params["source_id"]
    task_id: str = request.path_params["task_id"]
    if runtime.config.source(source_id) is None:
        raise ErrorAnswer(404, "unknown_source", f"no source {source_id!r} is configured")
    queue = JobQueue(runtime.redis, runtime.config.redis.prefix)
    record = await read_task(runtime.redis, runtime.pipeline.publisher.keys, queue, source_id, task_id)
    if record is None:
        raise ErrorAnswer(404, "unknown_task", f"nothing is known of task {task_id!r} of {source_id!r}")
    return json_response(200, record.as_json())


_ERROR_OUTCOMES = {
    401: "unauthentic",
    404: "unknown_source",
    413: "too_large",
    429: "rate_limited",
    503: "unavailable",
}


def _dead_letters(request: Request) -> tuple[Runtime, DeadLetters]:
    runtime = require_admin(request)
    return runtime, DeadLetters(runtime.redis, runtime.pipeline.publisher.keys)


async def dlq_list(request: Request) -> Response:
    """`GET /v1/dlq?limit=N&source=S`: the oldest quarantined deliveries, without their bodies."""
    _, letters = _dead_letters(request)
    limit_text = request.query_params.get("limit", "50")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
        raise ErrorAnswer(400, "invalid_limit", "limit must be an integer from 1 to 1000")
    found = await letters.oldest(int(limit_text), request.query_params.get("source"))
    return json_response(200, {"entries": [letter.summary() for letter in found]})


async def dlq_show(request: Request) -> Response:
    """`GET /v1/dlq/{entry_id}`: one quarantined delivery with its kept headers and exact body."""
    _, letters = _dead_letters(request)
    entry_id: str = request.path_params["entry_id"]
    letter = await letters.get(entry_id)
    if letter is None:
        raise ErrorAnswer(404, "not_found", f"no dead letter {entry_id!r}")
    return json_response(200, letter.full())


async def dlq_redrive(request: Request) -> Response:
    """`POST /v1/dlq/redrive` with `{"ids": [...]?, "delete": bool?}`: no ids redrives every entry."""
    runtime, letters = _dead_letters(request)
    try:
        asked = orjson.loads(await read_body(request, 65536) or b"{}")
    except orjson.JSONDecodeError:
        raise ErrorAnswer(400, "invalid_json", "the body must be a JSON object") from None
    ids = asked.get("ids") if isinstance(asked, dict) else None
    delete = asked.get("delete", False) if isinstance(asked, dict) else None
    if (
        not isinstance(asked, dict)
        or not isinstance(delete, bool)
        or (ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)))
    ):
        raise ErrorAnswer(400, "invalid_request", 'expected {"ids": [entry ids]?, "delete": bool?}')
    results = await letters.redrive(runtime.config, runtime.pipeline, ids, delete)
    return json_response(200, {"results": [dataclasses.asdict(result) for result in results]})


async def events_list(request: Request) -> Response:
    """`GET /v1/events?source=&provider=&status=&task_id=&limit=`: the newest events first (admin)."""
    runtime = require_admin(request)
    try:
        query = events_view.EventQuery.from_params(request.query_params)
    except events_view.InvalidQuery as exc:
        raise ErrorAnswer(400, exc.code, exc.message) from None
    with redis_errors("the events read"):
        found = await events_view.latest_events(runtime.redis, runtime.pipeline.publisher.keys, query)
    # The events as published, spliced in without being parsed and serialized again.
    return json_response(200, {"events": [orjson.Fragment(entry.raw) for entry in found]})


async def livez(request: Request) -> Response:
    return json_response(200, {"status": "alive"})


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    if runtime.shutting_down:
        return json_response(503, {"status": "shutting_down"})
    try:
        await runtime.redis.ping()
    except REDIS_FAILURES as exc:
        metrics.REDIS_UP.set(0)
        return json_response(503, {"status": "redis_unreachable", "detail": exc.__class__.__name__})
    metrics.REDIS_UP.set(1)
    return json_response(200, {"status": "ready"})


async def metrics_endpoint(request: Request) -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


async def openapi_document(request: Request) -> Response:
    return Response(OPENAPI_DOCUMENT, media_type="application/json")


async def answer_error(request: Request, exc: Exception) -> Response:
    """Every `ErrorAnswer` a route raises, as the JSON error shape."""
    assert isinstance(exc, ErrorAnswer)
    return json_response(exc.status, error_body(exc), exc.headers)


async def answer_unavailable(request: Request, exc: Exception) -> Response:
    """Redis did not confirm a write, or did not answer a read, the route needed: 503, try again later.

    Registered for `RedisUnavailable` and for every Redis client failure (`REDIS_CLIENT_ERRORS`), so that a
    route reading Redis directly (the dead letters, the events) needs no handler of its own.
    """
    if not isinstance(exc, RedisUnavailable):
        exc = RedisUnavailable(f"redis did not answer: {exc.__class__.__name__}")
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


# The one endpoint object behind both callback routes, and behind ReceiverApp's shortcut to them.
CALLBACK_ENDPOINT = CallbackEndpoint()


def callback_path_params(path: str) -> dict[str, str] | None:
    """`/v1/callbacks/{source_id}[/{token}]` to its path parameters, as the routes would match it."""
    parts = path.split("/")
    if not 4 <= len(parts) <= 5 or parts[1] != "v1" or parts[2] != "callbacks" or not all(parts[3:]):
        return None
    params = {"source_id": parts[3]}
    if len(parts) == 5:
        params["token"] = parts[4]
    return params


class ReceiverApp(Starlette):
    """Starlette, with the callback POST (every provider's retries land there) taken straight to its
    endpoint. The middleware, exception wrappers and route matching it skips, with the Response object
    the endpoint no longer builds, were 3.4% of a delivery's instructions (callgrind, in process).
    Every other request, a callback's other methods included, goes through Starlette and its routes,
    which name the same endpoint. Both go through the `SafetyNet`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._dispatch = SafetyNet(self._route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._dispatch(scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            params = callback_path_params(scope["path"])
            if params is not None:
                scope["app"] = self
                scope["path_params"] = params
                await CALLBACK_ENDPOINT(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    config: Config,
    redis_url: str | None = None,
    *,
    freeze_heap: bool = False,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The ASGI app. `redis_url` overrides the config (tests); with neither, Redis is embedded.

    `freeze_heap`: a server process moves what its start-up built (connections, clients, verifiers)
    out of the garbage collector's sight once it is built (receiver/heap.py); tests, which build many
    apps in one process, do not.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        warn_unproven(config.sources)
        async with tracing.exporting(config.telemetry), open_pipeline(config, redis_url) as (redis, pipeline):
            runtime = Runtime(
                config=config,
                redis=redis,
                pipeline=pipeline,
                verifiers={source.id: verifier_for(source) for source in config.sources},
                rate_limits=RateLimits(config.sources),
                clock=clock,
            )
            app.state.runtime = runtime
            if freeze_heap:
                heap.freeze_long_lived()

            def start_draining() -> None:
                runtime.shutting_down = True

            try:
                async with background_work(config, redis, pipeline):
                    with drain_on_signals(start_draining, config.server.shutdown_delay_seconds):
                        yield
                    runtime.shutting_down = True
            finally:
                for verifier in runtime.verifiers.values():
                    await verifier.aclose()
            metrics.process_exiting()

    return ReceiverApp(
        routes=[
            Route("/v1/callbacks/{source_id}", CALLBACK_ENDPOINT, methods=["POST"]),
            Route("/v1/callbacks/{source_id}/{token}", CALLBACK_ENDPOINT, methods=["POST"]),
            Route("/v1/sources/{source_id}/tasks", watch_task, methods=["POST"]),
            Route("/v1/sources/{source_id}/tasks/{task_id:path}", task_record, methods=["GET"]),
            Route("/livez", livez, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/openapi.json", openapi_document, methods=["GET"]),
            Route("/v1/dlq", dlq_list, methods=["GET"]),
            Route("/v1/dlq/redrive", dlq_redrive, methods=["POST"]),
            Route("/v1/dlq/{entry_id}", dlq_show, methods=["GET"]),
            Route("/v1/events", events_list, methods=["GET"]),
            console_mount(),
        ],
        lifespan=lifespan,
        exception_handlers={
            HTTPException: routing_error,
            ErrorAnswer: answer_error,
            RedisUnavailable: answer_unavailable,
            **dict.fromkeys(REDIS_CLIENT_ERRORS, answer_unavailable),
        },
    )
