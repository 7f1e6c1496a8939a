"""Authentic bytes to a canonical event, against a provider's schema versions: pure, no I/O.

Apart from the orchestration (receiver/flow/pipeline.py) so that an offload worker, which unpickles
`decode` by reference, imports the gate and the schemas only: no Redis, jobs or asset store.
"""

from __future__ import annotations

from dataclasses import replace

import orjson
from pydantic import ValidationError

from receiver.config import LimitsConfig
from receiver.core.json_gate import screen
from receiver.foundation.errors import Quarantine
from schemas.event import CanonicalEvent, OutOfRange, event_to_json
from schemas.normalizing import DeliveryContext, UnknownStatus
from schemas.provider import ProviderSchemas

# Limits of a pipeline built without a config (tests, tools): the documented defaults.
DEFAULT_LIMITS = LimitsConfig()


def summarize_errors(error: ValidationError, limit: int = 3) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False)[:limit]:
        where = ".".join(str(part) for part in item["loc"]) or "(body)"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def decode(
    provider: ProviderSchemas, body: bytes, ctx: DeliveryContext, limits: LimitsConfig = DEFAULT_LIMITS
) -> CanonicalEvent:
    """The event of the first (newest) schema version that validates `body`, once it passed the gate."""
    document = screen(body, limits)
    failures = []
    for version in provider.versions:
        try:
            # The gate has parsed the body strictly already: validate what it parsed, not the bytes again.
            payload = version.payload.model_validate(document)
        except ValidationError as exc:
            failures.append(f"v{version.version}: {summarize_errors(exc)}")
            continue
        try:
            event = version.normalize(payload, ctx)
        except UnknownStatus as exc:
            raise Quarantine("unknown_status", str(exc)) from None
        except OutOfRange as exc:
            raise Quarantine("number_out_of_range", str(exc)) from None
        try:
            # Values within the payload's bounds can still overflow once converted (seconds to
            # milliseconds, input + output tokens): an event that cannot be written is not an event.
            event_to_json(event)
        except orjson.JSONEncodeError as exc:
            raise Quarantine("number_out_of_range", f"the event cannot be serialized: {exc}") from None
        return event
    raise Quarantine(
        "unknown_schema_version",
        f"the body matches no known {provider.name} schema version ({' | '.join(failures)})",
    )


def decode_resource(
    provider: ProviderSchemas, body: bytes, ctx: DeliveryContext, limits: LimitsConfig = DEFAULT_LIMITS
) -> CanonicalEvent:
    """A fetched or polled task object, decoded like a callback against the provider's resource versions."""
    return decode(replace(provider, versions=provider.resource_versions), body, ctx, limits)
