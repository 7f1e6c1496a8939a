"""From authentic bytes to a published event: decode against the provider's schema versions, then publish.

`decode` is pure (bytes and context in, event or `Quarantine` out) so that fixtures test it without
Redis; `Pipeline.deliver` adds the one I/O step, shared by the HTTP app, replay and redrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

import orjson
from pydantic import ValidationError

from receiver.config import LimitsConfig, SourceConfig
from receiver.json_gate import Refused, screen
from receiver.publisher import Publisher
from schemas.event import CanonicalEvent, OutOfRange, event_to_json
from schemas.normalizing import DeliveryContext, UnknownStatus
from schemas.provider import ProviderSchemas
from schemas.registry import PROVIDERS

if TYPE_CHECKING:
    from receiver.offload import Offload

# Headers that can carry credentials are never kept in the dead-letter stream. Signature headers go
# too: a redrive publishes without verifying again, and a sender that pastes its secret into one (a
# misconfigured gateway does) must not have it stored.
_PRIVATE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "webhook-signature",
        "tl-signature",
    }
)


# Limits of a pipeline built without a config (tests, tools): the documented defaults.
DEFAULT_LIMITS = LimitsConfig()


class Quarantine(Exception):
    """Authentic, but not an event any schema version accepts: kept whole in the dead-letter stream."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


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
    try:
        document = screen(body, limits)
    except Refused as refused:
        raise Quarantine(refused.reason, refused.detail) from None
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


def public_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers worth keeping with a dead letter: all but those that can carry credentials."""
    return {name: value for name, value in headers.items() if name.lower() not in _PRIVATE_HEADERS}


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Literal["accepted", "duplicate", "stale", "quarantined"]
    event_id: str | None = None
    reason: str | None = None
    detail: str | None = None


class Deferral(Protocol):
    """Work that takes the place of publishing a decoded callback's event (fetch-on-notify)."""

    def applies(self, source: SourceConfig) -> bool: ...

    async def defer(self, source: SourceConfig, event: CanonicalEvent, headers: Mapping[str, str]) -> Outcome:
        """Record the work durably (raise `RedisUnavailable` otherwise) and say how the callback went."""
        ...


class Pipeline:
    def __init__(
        self,
        publisher: Publisher,
        deferral: Deferral | None = None,
        limits: LimitsConfig = DEFAULT_LIMITS,
        *,
        providers: Mapping[str, ProviderSchemas] = PROVIDERS,
        offload: Offload | None = None,
    ) -> None:
        # The schema registry is a parameter so that a redrive (or its test) can decode with versions
        # shipped after a delivery was quarantined.
        self.publisher = publisher
        self.deferral = deferral
        self.limits = limits
        self.providers = providers
        self.offload = offload

    def decode_delivery(
        self,
        source: SourceConfig,
        body: bytes,
        received_at: datetime,
        delivery_id: str | None,
        *,
        resource: bool = False,
    ) -> CanonicalEvent:
        """The delivery's event under the current schemas; raises `Quarantine`. Shared with redrive.

        `resource`: the body is the provider API's task object (a stored poll or fetch result), decoded
        against the provider's resource versions rather than its callback versions.
        """
        ctx = DeliveryContext(source.id, source.provider, received_at, delivery_id)
        decoder = decode_resource if resource else decode
        return decoder(self.providers[source.provider], body, ctx, self.limits)

    async def deliver(
        self,
        source: SourceConfig,
        body: bytes,
        headers: Mapping[str, str],
        received_at: datetime,
        delivery_id: str | None = None,
        *,
        resource: bool = False,
    ) -> Outcome:
        """Decode and publish one authentic delivery; raises `RedisUnavailable` when nothing was kept."""
        try:
            if self.offload is not None and self.offload.applies(body):
                ctx = DeliveryContext(source.id, source.provider, received_at, delivery_id)
                provider = self.providers[source.provider]
                event = await self.offload.decode(provider, body, ctx, resource=resource)
            else:
                event = self.decode_delivery(source, body, received_at, delivery_id, resource=resource)
        except Quarantine as quarantine:
            return await self.conclude(source, quarantine, body, headers, received_at, delivery_id)
        return await self.conclude(source, event, body, headers, received_at, delivery_id, resource=resource)

    async def conclude(
        self,
        source: SourceConfig,
        decoded: CanonicalEvent | Quarantine,
        body: bytes,
        headers: Mapping[str, str],
        received_at: datetime,
        delivery_id: str | None = None,
        *,
        resource: bool = False,
    ) -> Outcome:
        """Publish, defer or quarantine a delivery once decoded, wherever it was (a replay decodes its
        files ahead on every core); raises `RedisUnavailable` when nothing was kept."""
        if isinstance(decoded, Quarantine):
            await self.publisher.quarantine(
                source.id,
                decoded.reason,
                decoded.detail,
                public_headers(headers),
                body,
                received_at,
                delivery_id,
            )
            return Outcome("quarantined", reason=decoded.reason, detail=decoded.detail)
        if resource:  # a task object is the full result already: nothing to fetch
            return await self.publish(decoded)
        return await self.settle(source, decoded, headers)

    async def settle(
        self, source: SourceConfig, event: CanonicalEvent, headers: Mapping[str, str]
    ) -> Outcome:
        """Publish a decoded event, or defer it to a fetch: what a callback and a redrive share."""
        if self.deferral is not None and self.deferral.applies(source):
            return await self.deferral.defer(source, event, public_headers(headers))
        return await self.publish(event)

    async def publish(self, event: CanonicalEvent) -> Outcome:
        publication = await self.publisher.publish(event)
        return Outcome(publication.outcome, event_id=event.event_id)
