"""Traces over OTLP/HTTP: `[telemetry] otlp_endpoint`, and the hooks the receiver calls to make spans.

With an endpoint, the app's lifespan (`exporting`) starts the OpenTelemetry SDK: a `TracerProvider` of
its own (the process-wide global is left to the application embedding the receiver), a
`BatchSpanProcessor` and the OTLP/HTTP exporter sending to `<otlp_endpoint>/v1/traces`; on the way out
it flushes what is buffered. Every span is made through the hooks below:

- `delivery(scope)`: a callback's root span, continuing the sender's W3C `traceparent` when it sent one;
  `annotate(...)` puts the source, provider and outcome on it once they are known.
- `span(name, **attributes)`: a child of whatever is current (verify, decode, publish, copy, ...).
- `job(job)`: one run of a queued job, named by its kind (fetch, poll); a payload with a `traceparent`
  (a fetch that a callback enqueued) continues that trace.
- `traceparent()`: the current span as a `traceparent` value, for what is handed on: the events-stream
  entry (receiver/core/publisher.py), a job's payload.
- `add_trace_id`: the structlog processor that writes the current trace id into each log line.

Without an endpoint nothing of OpenTelemetry is imported here, and every hook is a check of one
global: `span` and `delivery` return one shared do-nothing context manager, `traceparent()` returns "".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, MutableMapping
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import Field, field_validator
from starlette.datastructures import Headers

from receiver.foundation.settings import Section

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, SpanKind
    from starlette.types import Scope


class TelemetryConfig(Section):
    """`[telemetry]`: where traces go; no endpoint, no tracing."""

    # The collector's base URL (OTLP over HTTP, usually port 4318); spans are posted to `/v1/traces` below it.
    otlp_endpoint: str | None = None
    # `service.name` of every span.
    service_name: str = Field(default="videohooks", min_length=1)

    @field_validator("otlp_endpoint")
    @classmethod
    def _http_url(cls, endpoint: str | None) -> str | None:
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (OTLP over HTTP)")
        return endpoint.rstrip("/") if endpoint is not None else None

    @property
    def traces_url(self) -> str:
        return f"{self.otlp_endpoint}/v1/traces"


class _Tracing:
    """The SDK at work, and the few pieces of the API the hooks call, imported when tracing starts."""

    def __init__(self, config: TelemetryConfig) -> None:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.provider: TracerProvider = TracerProvider(
            resource=Resource.create({SERVICE_NAME: config.service_name})
        )
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=config.traces_url)))
        self.tracer = self.provider.get_tracer("videohooks")
        self.propagator = TraceContextTextMapPropagator()
        self.current_span = trace.get_current_span
        self.format_trace_id = trace.format_trace_id
        self.server_kind = trace.SpanKind.SERVER
        self.consumer_kind = trace.SpanKind.CONSUMER

    def continued(
        self, name: str, carrier: Mapping[str, str], kind: SpanKind, attributes: Mapping[str, str] = {}
    ) -> AbstractContextManager[Span]:
        """A span in the trace that `carrier` names (its `traceparent`, `tracestate`), or a new trace."""
        context = self.propagator.extract(carrier)
        return self.tracer.start_as_current_span(name, context=context, kind=kind, attributes=attributes)


# Tracing as the running app set it up; None: off.
_active: _Tracing | None = None
_OFF: AbstractContextManager[None] = nullcontext()


@asynccontextmanager
async def exporting(config: TelemetryConfig) -> AsyncIterator[None]:
    """Tracing on for the app's lifetime, when an endpoint is configured; spans flushed on the way out."""
    global _active
    if config.otlp_endpoint is None:
        yield
        return
    started = _Tracing(config)
    previous, _active = _active, started
    try:
        yield
    finally:
        _active = previous
        # Flushing posts what is buffered: not on the event loop, which may still serve another app.
        await asyncio.to_thread(started.provider.shutdown)


def delivery(scope: Scope) -> AbstractContextManager[object]:
    """The root span of one callback, in the sender's trace when its headers carry a `traceparent`."""
    if _active is None:
        return _OFF
    return _active.continued("delivery", Headers(scope=scope), _active.server_kind)


def annotate(**attributes: str) -> None:
    """Attributes of the current span (a delivery's source, provider, outcome)."""
    if _active is not None:
        _active.current_span().set_attributes(attributes)


def span(name: str, **attributes: str) -> AbstractContextManager[object]:
    """A child span of the current one: a step of a delivery or a job (verify, decode, publish, copy)."""
    if _active is None:
        return _OFF
    return _active.tracer.start_as_current_span(name, attributes=attributes)


class JobRun(Protocol):
    """What a span of a job needs of it: a job of receiver/core/jobs.py, which sits above tracing."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...


def job(job: JobRun) -> AbstractContextManager[object]:
    """One run of a job, named by its kind, in the trace of the `traceparent` its payload carries, if any."""
    if _active is None:
        return _OFF
    parent = job.payload.get("traceparent")
    carrier = {"traceparent": parent} if isinstance(parent, str) else {}
    return _active.continued(job.kind, carrier, _active.consumer_kind, {"job.id": job.id})


def traceparent() -> str:
    """The current span as a W3C `traceparent` value; "" when tracing is off or no span is current."""
    if _active is None:
        return ""
    carrier: dict[str, str] = {}
    _active.propagator.inject(carrier)
    return carrier.get("traceparent", "")


def add_trace_id(logger: object, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the current trace id on the line, so that a log line leads to its trace."""
    if _active is not None:
        context = _active.current_span().get_span_context()
        if context.is_valid:
            event["trace_id"] = _active.format_trace_id(context.trace_id)
    return event
