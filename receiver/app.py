"""The HTTP surface: signed callback endpoints, health, and metrics.

A callback is answered only after its outcome is settled in Redis: 202 `accepted`, `duplicate`,
`stale` or `quarantined` once Redis confirmed the write (or found nothing to write), 401 when it is not
authentic (nothing stored), 503 with `Retry-After` when Redis could not confirm a write in time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from receiver import metrics
from receiver.config import Config, SourceConfig
from receiver.connection import AnyRedis, open_pipeline
from receiver.logs import logger
from receiver.pipeline import Pipeline
from receiver.publisher import RedisUnavailable
from receiver.verifiers import Unauthentic, Verifier, verifier_for
from schemas.registry import PROVIDERS

RETRY_AFTER_SECONDS = 5


class ErrorAnswer(Exception):
    """An answer that ends a request early: HTTP status, error code, readable message."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def json_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def error_response(error: ErrorAnswer, request_id: str) -> Response:
    return json_response(
        error.status,
        {"error": {"code": error.code, "message": error.message}},
        {**error.headers, "x-request-id": request_id},
    )


@dataclass
class Runtime:
    """What the routes share: built in the lifespan, torn down after the last request."""

    config: Config
    redis: AnyRedis
    pipeline: Pipeline
    verifiers: dict[str, Verifier]
    shutting_down: bool = False
    extras: dict[str, Any] = field(default_factory=dict)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit`, never held whole beyond it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ErrorAnswer(413, "payload_too_large", f"the body exceeds {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ErrorAnswer(413, "payload_too_large", f"the body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def callback_source(runtime: Runtime, source_id: str, token: str | None) -> SourceConfig:
    source = runtime.config.source(source_id)
    if source is None:
        raise ErrorAnswer(404, "unknown_source", f"no source {source_id!r} is configured")
    if not PROVIDERS[source.provider].accepts_callbacks:
        raise ErrorAnswer(404, "unknown_source", f"source {source_id!r} is poll-only and takes no callbacks")
    if token is not None and source.scheme != "url-token":
        raise ErrorAnswer(404, "unknown_source", f"source {source_id!r} takes no token in its callback URL")
    return source


async def callback(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    started = time.perf_counter()
    request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
    source_id: str = request.path_params["source_id"]
    token: str | None = request.path_params.get("token")
    log = logger.bind(request_id=request_id, source=source_id)
    try:
        source = callback_source(runtime, source_id, token)
        body = await read_body(request, runtime.config.server.max_body_bytes)
        try:
            delivery_id = runtime.verifiers[source.id].verify(request.headers, body, token, time.time())
        except Unauthentic as exc:
            raise ErrorAnswer(401, exc.code, exc.message) from None
        try:
            outcome = await runtime.pipeline.deliver(
                source, body, request.headers, datetime.now(UTC), delivery_id
            )
        except RedisUnavailable as exc:
            log.warning("redis.unavailable", error=str(exc))
            raise ErrorAnswer(
                503,
                "unavailable",
                "the delivery could not be stored: retry later",
                {"retry-after": str(RETRY_AFTER_SECONDS)},
            ) from exc
    except ErrorAnswer as error:
        label = _ERROR_OUTCOMES.get(error.status, error.code)
        known_source = runtime.config.source(source_id) is not None
        metrics.DELIVERIES.labels(source_id if known_source else "", label).inc()
        log.warning("delivery", outcome=label, status=error.status, code=error.code, detail=error.message)
        return error_response(error, request_id)

    metrics.DELIVERIES.labels(source.id, outcome.status).inc()
    metrics.REQUEST_SECONDS.labels(source.id).observe(time.perf_counter() - started)
    log.info("delivery", outcome=outcome.status, event_id=outcome.event_id, reason=outcome.reason)
    body_out: dict[str, Any] = {"status": outcome.status}
    if outcome.event_id:
        body_out["event_id"] = outcome.event_id
    if outcome.reason:
        body_out["reason"] = outcome.reason
    return json_response(202, body_out, {"x-request-id": request_id})


def require_admin(request: Request) -> None:
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


_ERROR_OUTCOMES = {401: "unauthentic", 404: "unknown_source", 413: "too_large", 503: "unavailable"}


async def livez(request: Request) -> Response:
    return json_response(200, {"status": "alive"})


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    if runtime.shutting_down:
        return json_response(503, {"status": "shutting_down"})
    try:
        await runtime.redis.ping()
    except (RedisError, OSError) as exc:
        metrics.REDIS_UP.set(0)
        return json_response(503, {"status": "redis_unreachable", "detail": exc.__class__.__name__})
    metrics.REDIS_UP.set(1)
    return json_response(200, {"status": "ready"})


async def metrics_endpoint(request: Request) -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def create_app(config: Config, redis_url: str | None = None) -> Starlette:
    """The ASGI app. `redis_url` overrides the config (tests); with neither, Redis is embedded."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_pipeline(config, redis_url) as (redis, pipeline):
            runtime = Runtime(
                config=config,
                redis=redis,
                pipeline=pipeline,
                verifiers={source.id: verifier_for(source) for source in config.sources},
            )
            app.state.runtime = runtime
            yield
            runtime.shutting_down = True
            metrics.process_exiting()

    return Starlette(
        routes=[
            Route("/v1/callbacks/{source_id}", callback, methods=["POST"]),
            Route("/v1/callbacks/{source_id}/{token}", callback, methods=["POST"]),
            Route("/livez", livez, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
