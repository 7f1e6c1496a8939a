"""From authentic bytes to a published event: decode against the provider's schema versions, then publish.

`decode` (receiver/core/decoding.py) is pure, bytes and context in, event or `Quarantine` out, so that
fixtures test it without Redis; `Pipeline.deliver` adds the one I/O step, shared by the HTTP app,
replay and redrive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from receiver.assets.copier import defer_copy, needs_copy
from receiver.assets.download import AssetError
from receiver.assets.inline import carries_inline_media, materialize
from receiver.assets.store import AssetStore
from receiver.config import LimitsConfig
from receiver.core.decoding import DEFAULT_LIMITS, decode, decode_resource
from receiver.core.jobs import JobQueue
from receiver.core.offload import Offload
from receiver.core.publisher import Publisher
from receiver.foundation import tracing
from receiver.foundation.asset_settings import AssetsConfig
from receiver.foundation.errors import Quarantine, RedisUnavailable, RemoteError, redis_errors
from receiver.foundation.logs import logger
from receiver.providers import PROVIDER_SCHEMAS
from receiver.sources import SourceConfig
from receiver.verifiers import PRIVATE_HEADERS
from schemas.event import CanonicalEvent
from schemas.normalizing import DeliveryContext
from schemas.provider import ProviderSchemas


def public_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers worth keeping with a dead letter: all but those that can carry credentials."""
    return {name: value for name, value in headers.items() if name.lower() not in PRIVATE_HEADERS}


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Literal["accepted", "duplicate", "stale", "quarantined"]
    event_id: str | None = None
    reason: str | None = None
    detail: str | None = None


class Deferral(Protocol):
    """Work that takes the place of publishing a decoded callback's event (fetch-on-notify)."""

    def applies(self, source: SourceConfig, event: CanonicalEvent) -> bool: ...

    async def defer(
        self, source: SourceConfig, event: CanonicalEvent, headers: Mapping[str, str], body: bytes
    ) -> Outcome:
        """Record the work durably (raise `RedisUnavailable` otherwise) and say how the callback went."""
        ...


@dataclass(frozen=True, slots=True)
class AssetCopies:
    """Where generated media goes before an event is published (`[assets]`)."""

    config: AssetsConfig
    store: AssetStore
    queue: JobQueue


class Pipeline:
    def __init__(
        self,
        publisher: Publisher,
        deferral: Deferral | None = None,
        limits: LimitsConfig = DEFAULT_LIMITS,
        *,
        schemas: Mapping[str, ProviderSchemas] = PROVIDER_SCHEMAS,
        assets: AssetCopies | None = None,
        watcher: Callable[[CanonicalEvent], Awaitable[None]] | None = None,
        offload: Offload | None = None,
    ) -> None:
        # The schema registry is a parameter so that a redrive (or its test) can decode with versions
        # shipped after a delivery was quarantined; every path (callback, fetch, poll, redrive,
        # replay) decodes through this pipeline, with its schemas and its limits, and releases its
        # events through `release`, which copies their assets first where a store is configured.
        self.publisher = publisher
        self.deferral = deferral
        self.limits = limits
        self.schemas = schemas
        self.assets = assets
        # Called with each newly accepted event: starts the watch of a task whose callback said it is
        # not done yet (receiver/flow/poll.py `CallbackWatcher`).
        self.watcher = watcher
        # Bodies above `[server] offload_bytes` are decoded in a low-priority process
        # (receiver/core/offload.py).
        self.offload = offload

    def decode_delivery(
        self,
        source: SourceConfig,
        body: bytes,
        received_at: datetime,
        delivery_id: str | None,
        *,
        resource: bool = False,
        notice: CanonicalEvent | None = None,
    ) -> CanonicalEvent:
        """The delivery's event under the current schemas; raises `Quarantine`. Shared by every path.

        `resource`: the body is the provider API's task object (fetched, polled, or a stored one),
        decoded against the provider's resource versions rather than its callback versions; `notice`
        is the callback's own event when the object was fetched after it.
        """
        ctx = DeliveryContext(
            source.id, source.provider, received_at, delivery_id, notice, source.api_base_url
        )
        decoder = decode_resource if resource else decode
        with tracing.span("decode"):
            return decoder(self.schemas[source.provider], body, ctx, self.limits)

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
                ctx = DeliveryContext(
                    source.id, source.provider, received_at, delivery_id, None, source.api_base_url
                )
                schemas = self.schemas[source.provider]
                event = await self.offload.decode(schemas, body, ctx, resource=resource)
                if carries_inline_media(event):
                    # Its media is written from the body here; the event must be whole for that.
                    event = self.decode_delivery(source, body, received_at, delivery_id, resource=resource)
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
        if not isinstance(decoded, Quarantine) and carries_inline_media(decoded):
            try:
                decoded = await self.materialize(decoded, body)
            except Quarantine as quarantine:
                decoded = quarantine
        if isinstance(decoded, Quarantine):
            return await self.keep(source, body, headers, received_at, delivery_id, decoded)
        if resource:  # a task object is the full result already: nothing to fetch
            return await self.release(decoded)
        return await self.settle(source, decoded, headers, body)

    async def materialize(self, event: CanonicalEvent, body: bytes) -> CanonicalEvent:
        """`event` with the media its body carries inline written to the store (see
        receiver/assets/inline.py); raises `Quarantine` without a store, `RemoteError` when the store
        failed (retry later)."""
        store = None if self.assets is None else self.assets.store
        max_bytes = 0 if self.assets is None else self.assets.config.max_bytes
        try:
            return await materialize(event, body, store, max_bytes)
        except AssetError as exc:
            if not exc.retryable:
                raise Quarantine(exc.code, str(exc)) from None
            raise RemoteError(f"the inline media could not be stored: {exc}", retryable=True) from exc

    async def release(self, event: CanonicalEvent) -> Outcome:
        """Publish `event`, or, where its assets are to be copied first, store the copy job that will."""
        if self.assets is None or not needs_copy(event):
            outcome = await self.publish(event)
        else:
            with redis_errors("the copy job"):
                if await self.publisher.published(event):
                    return Outcome("duplicate", event_id=event.event_id)
            created = await defer_copy(self.assets.queue, event, self.assets.config.deadline_seconds)
            outcome = Outcome("accepted" if created else "duplicate", event_id=event.event_id)
        if outcome.status == "accepted" and self.watcher is not None:
            try:
                await self.watcher(event)
            except RedisUnavailable as exc:  # the event is kept: only its safety net is missing
                logger.warning(
                    "watch.not_started", source=event.source, task_id=event.task_id, error=str(exc)
                )
        return outcome

    async def keep(
        self,
        source: SourceConfig,
        body: bytes,
        headers: Mapping[str, str],
        received_at: datetime,
        delivery_id: str | None,
        quarantine: Quarantine,
    ) -> Outcome:
        """Keep a delivery whole in the dead-letter stream (without its credential headers)."""
        await self.publisher.quarantine(
            source.id,
            quarantine.reason,
            quarantine.detail,
            public_headers(headers),
            body if quarantine.kept_body is None else quarantine.kept_body,
            received_at,
            delivery_id,
        )
        return Outcome("quarantined", reason=quarantine.reason, detail=quarantine.detail)

    async def settle(
        self, source: SourceConfig, event: CanonicalEvent, headers: Mapping[str, str], body: bytes
    ) -> Outcome:
        """Publish a decoded event, or defer it to a fetch: what a callback and a redrive share."""
        if self.deferral is not None and self.deferral.applies(source, event):
            return await self.deferral.defer(source, event, public_headers(headers), body)
        return await self.release(event)

    async def publish(self, event: CanonicalEvent) -> Outcome:
        with tracing.span("publish"):
            publication = await self.publisher.publish(event)
        return Outcome(publication.outcome, event_id=event.event_id)
