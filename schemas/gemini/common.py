"""What the Gemini webhook, operation and interaction share: retention, error codes, model names."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.normalizing import DeliveryContext

# Generated files are kept two days and no expiry is given: `expires_at` is derived from the time the
# task was done (the provider's own time where it has one, else when the receiver saw it done).
RETENTION = timedelta(hours=48)

# google.rpc.Code, by number: the names the webhook's `error_code` uses too (`INVALID_ARGUMENT`).
RPC_CODES = (
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)
CANCELLED = 1


def rpc_code_name(code: int | str | None) -> str | None:
    """A google.rpc code as its name; a word (or a URI) is kept as it is."""
    if isinstance(code, int):
        return RPC_CODES[code] if 0 <= code < len(RPC_CODES) else str(code)
    return code


def model_of(name: str) -> str | None:
    """`veo-3.1-generate-preview` from `models/veo-3.1-generate-preview/operations/<id>`."""
    parts = name.split("/")
    return parts[1] if len(parts) >= 4 and parts[0] == "models" and parts[2] == "operations" else None


def done_at(ctx: DeliveryContext, provider_time: datetime | None = None) -> datetime:
    """When the task was done: the provider's time, else the webhook's, else the receiver's."""
    if provider_time is not None:
        return provider_time
    if ctx.notice is not None and ctx.notice.occurred_at is not None:
        return ctx.notice.occurred_at
    return ctx.received_at
