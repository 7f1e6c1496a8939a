"""The ASGI app: the routes of receiver/http/ and the console, with the receiver's lifespan around them.

Every request goes through the `SafetyNet` (receiver/http/middleware.py); errors are the framework's,
one handler per branch of the tree in receiver/foundation/errors.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from receiver.config import Config
from receiver.console import console_mount
from receiver.core.ratelimit import RateLimits
from receiver.foundation import heap, metrics, tracing
from receiver.foundation.errors import ErrorAnswer, Unavailable
from receiver.http import admin, health
from receiver.http.callback import CALLBACK_ENDPOINT, callback_path_params
from receiver.http.draining import drain_on_signals
from receiver.http.middleware import SafetyNet, answer_error, answer_unavailable, routing_error
from receiver.providers import verifier_for
from receiver.providers.unproven_sources import warn_unproven
from receiver.services.work import background_work
from receiver.wiring.connection import open_pipeline
from receiver.wiring.runtime import Runtime
from receiver.wiring.startup import announce


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
    out of the garbage collector's sight once it is built (receiver/foundation/heap.py); tests, which
    build many apps in one process, do not.
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
            announce(config, redis, embedded=config.redis.embedded_unless(redis_url))
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
            Route("/v1/sources/{source_id}/tasks", admin.watch_task, methods=["POST"]),
            Route("/v1/sources/{source_id}/tasks/{task_id:path}", admin.task_record, methods=["GET"]),
            Route("/livez", health.livez, methods=["GET"]),
            Route("/readyz", health.readyz, methods=["GET"]),
            Route("/metrics", health.metrics_endpoint, methods=["GET"]),
            Route("/openapi.json", health.openapi_document, methods=["GET"]),
            Route("/v1/dlq", admin.dlq_list, methods=["GET"]),
            Route("/v1/dlq/redrive", admin.dlq_redrive, methods=["POST"]),
            Route("/v1/dlq/{entry_id}", admin.dlq_show, methods=["GET"]),
            Route("/v1/events", admin.events_list, methods=["GET"]),
            console_mount(),
        ],
        lifespan=lifespan,
        exception_handlers={
            HTTPException: routing_error,
            ErrorAnswer: answer_error,
            Unavailable: answer_unavailable,
        },
    )
