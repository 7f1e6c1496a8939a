"""From authentic bytes to a published event: decode against the provider's schema versions, then publish.

`decode` (receiver/core/decoding.py) is pure, bytes and context in, event or `Quarantine` out, so that
fixtures test it without Redis; `Pipeline.deliver` adds the one I/O step, shared by the HTTP app,
replay and redrive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from receiver.assets.copier import defer_copy, needs_copy
from receiver.assets.download import AssetError
from receiver.assets.inline import carries_inline_media, materialize
from receiver.assets.store import AssetStore
from receiver.config import LimitsConfig
from receiver.core.decoding import DEFAULT_LIMITS, decode, decode_resource
from receiver.core.delivery import Delivery
from receiver.core.jobs import JobQueue
from receiver.core.offload import Offload
from receiver.core.publisher import Publisher
from receiver.foundation import tracing
from receiver.foundation.asset_settings import AssetsConfig
from receiver.foundation.errors import Quarantine, RedisUnavailable, StoreUnavailable
from receiver.foundation.logs import logger
from receiver.providers import PROVIDER_SCHEMAS
from receiver.sources import SourceConfig
from receiver.verifiers import PRIVATE_HEADERS
from schemas.event import CanonicalEvent
from schemas.provider import ProviderSchemas


def public_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers worth keeping with a dead letter: all but those that can carry credentials."""
    return {name: value for name, value in headers.items() if name.lower() not in PRIVATE_HEADERS}


@dataclass(frozen=True, slots=True)
class Outcome:
    # fetching: a redriven body that lost its inline media, its task fetched again
    status: Literal["accepted", "duplicate", "stale", "quarantined", "fetching"]
    event_id: str | None = None
    reason: str | None = None
    detail: str | None = None


class Deferral(Protocol):
    """Work that takes the place of publishing a decoded callback's event (fetch-on-notify)."""

    def applies(self, source: SourceConfig, event: CanonicalEvent) -> bool: ...

    async def defer(self, delivery: Delivery, event: CanonicalEvent) -> Outcome:
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

    def decode_delivery(self, delivery: Delivery) -> CanonicalEvent:
        """The delivery's event under the current schemas of its kind; raises `Quarantine`."""
        decoder = decode_resource if delivery.kind == "resource" else decode
        with tracing.span("decode"):
            schemas = self.schemas[delivery.source.provider]
            return decoder(schemas, delivery.body, delivery.context(), self.limits)

    async def deliver(self, delivery: Delivery) -> Outcome:
        """Decode and conclude one authentic delivery; raises `RedisUnavailable` when nothing was kept."""
        try:
            if self.offload is not None and self.offload.applies(delivery.body):
                schemas = self.schemas[delivery.source.provider]
                resource = delivery.kind == "resource"
                event = await self.offload.decode(
                    schemas, delivery.body, delivery.context(), resource=resource
                )
                if carries_inline_media(event):
                    # Its media is written from the body here; the event must be whole for that.
                    event = self.decode_delivery(delivery)
            else:
                event = self.decode_delivery(delivery)
        except Quarantine as quarantine:
            return await self.keep(delivery, quarantine)
        return await self.conclude(delivery, event)

    async def conclude(self, delivery: Delivery, decoded: CanonicalEvent | Quarantine) -> Outcome:
        """Publish, defer or quarantine a delivery once decoded, wherever it was (a replay decodes its
        files ahead on every core); raises `RedisUnavailable` when nothing was kept, `StoreUnavailable`
        when its inline media could not be stored."""
        if not isinstance(decoded, Quarantine) and carries_inline_media(decoded):
            try:
                decoded = await self.materialize(decoded, delivery.body)
            except Quarantine as quarantine:
                decoded = quarantine
        if isinstance(decoded, Quarantine):
            return await self.keep(delivery, decoded)
        deferral = self.deferral
        if (
            delivery.kind == "callback"
            and deferral is not None
            and deferral.applies(delivery.source, decoded)
        ):
            return await deferral.defer(delivery, decoded)
        # A task object is the full result already: nothing to fetch.
        return await self.release(decoded, delivery.why)

    async def prepare(self, delivery: Delivery) -> CanonicalEvent:
        """The event of a task object the receiver asked for (fetch, poll), its inline media stored:
        decided on before it is released. Raises `Quarantine` (not kept: the caller decides whether
        to) and `StoreUnavailable` (the store could not be written)."""
        return await self.materialize(self.decode_delivery(delivery), delivery.body)

    async def materialize(self, event: CanonicalEvent, body: bytes) -> CanonicalEvent:
        """`event` with the media its body carries inline written to the store (see
        receiver/assets/inline.py); raises `Quarantine` without a store, `StoreUnavailable` when the store
        failed (retry later)."""
        if not carries_inline_media(event):
            return event
        store = None if self.assets is None else self.assets.store
        max_bytes = 0 if self.assets is None else self.assets.config.max_bytes
        try:
            return await materialize(event, body, store, max_bytes)
        except AssetError as exc:
            if not exc.retryable:
                raise Quarantine(exc.code, str(exc)) from None
            raise StoreUnavailable(f"the inline media could not be stored: {exc}") from exc

    async def release(self, event: CanonicalEvent, why: str) -> Outcome:
        """Publish `event`, or, where its assets are to be copied first, store the copy job that will."""
        if self.assets is None or not needs_copy(event):
            outcome = await self._publish(event, why)
        else:
            if dropped := await self.publisher.foreseen_drop(event):
                return Outcome(dropped.outcome, event_id=event.event_id)
            created = await defer_copy(self.assets.queue, event, self.assets.config.deadline_seconds, why)
            outcome = Outcome("accepted" if created else "duplicate", event_id=event.event_id)
        if outcome.status == "accepted":
            await self.watch(event)
        return outcome

    def publishes_directly(self, source: SourceConfig, event: CanonicalEvent, *, resource: bool) -> bool:
        """Whether `conclude` would only publish `event` and watch it: no media to store or copy, no
        fetch to defer to (what `replay --direct` hands to the publisher in batches)."""
        return not (
            carries_inline_media(event)
            or (self.assets is not None and needs_copy(event))
            or (not resource and self.deferral is not None and self.deferral.applies(source, event))
        )

    async def watch(self, event: CanonicalEvent) -> None:
        """Start the watch an accepted event's task may need (its safety net if callbacks stop)."""
        if self.watcher is not None:
            try:
                await self.watcher(event)
            except RedisUnavailable as exc:  # the event is kept: only its safety net is missing
                logger.warning(
                    "watch.not_started", source=event.source, task_id=event.task_id, error=str(exc)
                )

    async def keep(self, delivery: Delivery, quarantine: Quarantine) -> Outcome:
        """Keep a delivery whole in the dead-letter stream (without its credential headers), with its
        kind and provenance, so that a redrive takes the path a fresh delivery of it would."""
        await self.publisher.quarantine(
            delivery.source.id,
            quarantine.reason,
            quarantine.detail,
            public_headers(delivery.headers),
            delivery.body if quarantine.kept_body is None else quarantine.kept_body,
            delivery.received_at,
            delivery.delivery_id,
            kind=delivery.kind,
            provenance=delivery.provenance,
            media_omitted=quarantine.kept_body is not None,
        )
        return Outcome("quarantined", reason=quarantine.reason, detail=quarantine.detail)

    async def _publish(self, event: CanonicalEvent, why: str) -> Outcome:
        with tracing.span("publish"):
            publication = await self.publisher.publish(event, why)
        return Outcome(publication.outcome, event_id=publication.event_id or event.event_id)
