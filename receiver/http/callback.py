"""The callback route, `POST /v1/callbacks/{source_id}[/{token}]`: every provider's deliveries land here.

A callback is answered only after its outcome is settled in Redis: 202 `accepted`, `duplicate`,
`stale` or `quarantined` once Redis confirmed the write (or found nothing to write), 401 when it is not
authentic (nothing stored), 503 with `Retry-After` when Redis could not confirm a write in time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from receiver.core.delivery import Delivery, Provenance
from receiver.flow.pipeline import Outcome
from receiver.foundation import metrics, tracing
from receiver.foundation.errors import ErrorAnswer, Quarantine, Unauthentic, Unavailable, unavailable
from receiver.foundation.logs import logger
from receiver.http.responses import (
    error_body,
    read_limited,
    send_acknowledgement,
    send_json,
    send_raw_json,
)
from receiver.providers import PROVIDERS
from receiver.sources import SourceConfig
from receiver.verifiers import SIGNATURE_SCHEMES
from receiver.verifiers.base import with_request_line
from receiver.wiring.runtime import Runtime


def callback_source(runtime: Runtime, source_id: str, token: str | None) -> SourceConfig:
    source = runtime.config.source(source_id)
    if source is None:
        raise ErrorAnswer(404, "unknown_source", f"no source {source_id!r} is configured")
    if PROVIDERS[source.provider].callbacks is None:
        raise ErrorAnswer(404, "unknown_source", f"source {source_id!r} is poll-only and takes no callbacks")
    if token is not None and not SIGNATURE_SCHEMES[source.verify].token_in_path:
        raise ErrorAnswer(404, "unknown_source", f"source {source_id!r} takes no token in its callback URL")
    return source


_ERROR_OUTCOMES = {
    401: "unauthentic",
    404: "unknown_source",
    413: "too_large",
    429: "rate_limited",
    503: "unavailable",
}


# PERF: a plain ASGI app, no Request (bench/README.md, index: make bench).
class CallbackEndpoint:
    """`POST /v1/callbacks/{source_id}[/{token}]`, as a plain ASGI app.

    The route on every provider's retry path skips Starlette's Request and the per-route wrapper
    around it (about a fifth of a delivery's time in a profile under load); it reads the body from
    `receive` and answers like every other route. What it does not expect is the safety net's
    (`SafetyNet`), as for every other route.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The delivery's trace span holds everything below, the log line included
        # (receiver/foundation/tracing.py).
        with tracing.delivery(scope):
            await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        runtime: Runtime = scope["app"].state.runtime
        try:
            source, outcome = await self.settle(runtime, scope, receive, send)
        except ClientDisconnect:
            return  # the sender left mid-body: nothing was stored and nobody waits for an answer
        except Unavailable as exc:
            answer = unavailable(f"the delivery could not be stored ({exc}): retry later")
            await refuse(runtime, scope, send, started, answer)
            return
        except ErrorAnswer as error:
            await refuse(runtime, scope, send, started, error)
            return
        if outcome is None:
            return  # a handshake, answered already
        metrics.child(metrics.DELIVERIES, source.id, outcome.status).inc()
        metrics.child(metrics.REQUEST_SECONDS, source.id).observe(time.perf_counter() - started)
        tracing.annotate(source=source.id, provider=source.provider, outcome=outcome.status)
        logger.info(
            "delivery",
            request_id=scope["state"]["request_id"],
            source=source.id,
            outcome=outcome.status,
            event_id=outcome.event_id,
            reason=outcome.reason,
        )
        provider = PROVIDERS[source.provider]
        if provider.acknowledgement is not None:
            await send_acknowledgement(
                send,
                provider.success_status,
                provider.acknowledgement,
                outcome.status,
                outcome.event_id,
                outcome.reason,
            )
            return
        body_out: dict[str, Any] = {"status": outcome.status}
        if outcome.event_id:
            body_out["event_id"] = outcome.event_id
        if outcome.reason:
            body_out["reason"] = outcome.reason
        await send_json(send, provider.success_status, body_out, {})

    async def settle(
        self, runtime: Runtime, scope: Scope, receive: Receive, send: Send
    ) -> tuple[SourceConfig, Outcome | None]:
        """The delivery's source and how it went; no outcome when a handshake was answered instead."""
        headers = Headers(scope=scope)
        token: str | None = scope["path_params"].get("token")
        source = callback_source(runtime, scope["path_params"]["source_id"], token)
        body = await read_limited(
            receive, headers, source.max_body_bytes or runtime.config.server.max_body_bytes
        )
        now = runtime.clock()
        received_at = datetime.fromtimestamp(now, UTC)  # the injected clock's, as the signature check's
        try:
            with tracing.span("verify"):
                signed: Mapping[str, str] = headers
                if SIGNATURE_SCHEMES[source.verify].signs_request_line:
                    signed = with_request_line(headers, scope)
                delivery_id = await runtime.verifiers[source.id].verify(signed, body, token, now)
        except Unauthentic:
            check_rate(runtime, source.id, False, now)
            raise
        except Quarantine as unproven:
            # A form the scheme can neither prove nor disprove: kept for an operator, never published
            # (and never redriven, see receiver/services/dlq.py).
            delivery = Delivery(source, body, "callback", "notification", received_at, None, headers)
            return source, await runtime.pipeline.keep(delivery, unproven)
        check_rate(runtime, source.id, True, now)
        provider = PROVIDERS[source.provider]
        if provider.handshake is not None and (answer := provider.handshake(body)) is not None:
            await send_raw_json(send, 200, answer)
            return source, None
        provenance: Provenance = "signed" if SIGNATURE_SCHEMES[source.verify].proves_body else "notification"
        delivery = Delivery(source, body, "callback", provenance, received_at, delivery_id, headers)
        return source, await runtime.pipeline.deliver(delivery)


async def refuse(runtime: Runtime, scope: Scope, send: Send, started: float, error: ErrorAnswer) -> None:
    """Answer a callback that was not stored, counted and logged under its outcome."""
    source_id: str = scope["path_params"]["source_id"]
    label = _ERROR_OUTCOMES.get(error.status, error.code)
    # An unknown id is a sender's free text: it is counted under "" to keep the label set bounded.
    metric_source = source_id if runtime.config.source(source_id) is not None else ""
    metrics.child(metrics.DELIVERIES, metric_source, label).inc()
    # Refusals are timed too: a 503 that waited out the Redis timeout is what an operator looks for.
    metrics.child(metrics.REQUEST_SECONDS, metric_source).observe(time.perf_counter() - started)
    tracing.annotate(source=source_id, outcome=label)
    logger.warning(
        "delivery",
        request_id=scope["state"]["request_id"],
        source=source_id,
        outcome=label,
        status=error.status,
        code=error.code,
        detail=error.message,
    )
    await send_json(send, error.status, error_body(error), error.headers)


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
