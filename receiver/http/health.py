"""Liveness, readiness, metrics and the API's own description: the routes a platform asks, unauthenticated."""

from __future__ import annotations

from importlib.resources import files

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from receiver.foundation import metrics
from receiver.foundation.errors import RedisUnavailable
from receiver.http.responses import json_response
from receiver.wiring.runtime import Runtime

# The committed description of this HTTP surface; a test keeps it in step with the routes below.
OPENAPI_DOCUMENT = files("receiver").joinpath("openapi.json").read_bytes()


async def livez(request: Request) -> Response:
    return json_response(200, {"status": "alive"})


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    if runtime.shutting_down:
        return json_response(503, {"status": "shutting_down"})
    try:
        await runtime.redis.ping()
    except RedisUnavailable as exc:
        metrics.REDIS_UP.set(0)
        return json_response(503, {"status": "redis_unreachable", "detail": type(exc.__cause__).__name__})
    metrics.REDIS_UP.set(1)
    return json_response(200, {"status": "ready"})


async def metrics_endpoint(request: Request) -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


async def openapi_document(request: Request) -> Response:
    return Response(OPENAPI_DOCUMENT, media_type="application/json")
