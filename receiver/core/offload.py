"""Large bodies are decoded in a worker process at the lowest CPU priority, off the event loop.

A 3 MiB result takes tens of milliseconds to decode; on the event loop, every other delivery of the
worker waits that long. Measured on this kind of 2-core machine (bench/README.md, "Head-of-line"),
small deliveries' p99 while two connections post such bodies grew about 11 times with the decode in a
thread (the GIL), 6 times in a worker process of normal priority (its CPU competes with the loop's),
and about 2 times in a worker process at nice 19: small deliveries must come first, not merely
elsewhere.

The worker runs the same pure `decode` as the event loop, so a body has the same outcome either way.
What comes back is the event without its segments plus the event's whole JSON: unpickling thousands of
segments would cost the event loop what offloading saves, and the JSON is all that is published (the
publisher and a fetch deferral read the event's JSON, see `schemas.event.event_to_json`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

from receiver.config import LimitsConfig
from receiver.core.decoding import decode, decode_resource
from receiver.foundation.errors import Quarantine
from receiver.foundation.heap import freeze_long_lived, reuse_large_buffers
from schemas.event import CanonicalEvent, event_to_json, with_json
from schemas.normalizing import DeliveryContext
from schemas.provider import ProviderSchemas


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A `Quarantine` as a worker returns it: an exception with its own constructor does not survive
    pickling."""

    reason: str
    detail: str


# What a worker answers: the event without segments and the whole event's JSON, or a refusal.
Decoded = tuple[CanonicalEvent, bytes] | _Refusal
# What a worker is given: the provider's schemas, the body, its context, the limits, whether it is a
# resource (a polled or fetched task object) rather than a callback.
DecodeJob = tuple[ProviderSchemas, bytes, DeliveryContext, LimitsConfig, bool]


def _lowest_priority() -> None:
    """The worker's initializer: let the event loop's process have the CPU whenever it wants it."""
    os.nice(19)
    reuse_large_buffers()
    freeze_long_lived()


# PERF: the event comes back without segments, with its JSON (bench/README.md, index: head-of-line).
def decode_in_worker(
    provider: ProviderSchemas, body: bytes, ctx: DeliveryContext, limits: LimitsConfig, resource: bool
) -> Decoded:
    decoder = decode_resource if resource else decode
    try:
        event = decoder(provider, body, ctx, limits)
    except Quarantine as quarantine:
        return _Refusal(quarantine.reason, quarantine.detail)
    return replace(event, segments=()), event_to_json(event)


def restored(decoded: Decoded) -> CanonicalEvent | Quarantine:
    """A worker's answer, back in the event loop's process: the event to publish, or why not."""
    if isinstance(decoded, _Refusal):
        return Quarantine(decoded.reason, decoded.detail)
    return with_json(*decoded)


class Offload:
    """A small pool of decode processes, started on first use and shut down with the app."""

    def __init__(self, limits: LimitsConfig, offload_bytes: int, workers: int = 1):
        self.limits = limits
        self.offload_bytes = offload_bytes
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def applies(self, body: bytes) -> bool:
        return len(body) > self.offload_bytes

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Spawned, not forked: a fork of a process running an event loop, Redis connections and
            # threads copies their state mid-flight.
            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=multiprocessing.get_context("spawn"), initializer=_lowest_priority
            )
        return self._pool

    async def decode(
        self, provider: ProviderSchemas, body: bytes, ctx: DeliveryContext, *, resource: bool = False
    ) -> CanonicalEvent:
        """What `decode` (or `decode_resource`) gives for `body`, computed in a worker; raises `Quarantine`.

        `provider` goes to the worker by reference (its models and normalizers are module-level), so a
        registry other than `schemas.registry`'s (a redrive's newer versions) decodes the same there.

        A worker that died (killed for its memory, say) is replaced, and this body decoded in process:
        the delivery gets its answer either way.
        """
        loop = asyncio.get_running_loop()
        args = (provider, body, ctx, self.limits, resource)
        try:
            decoded = await loop.run_in_executor(self._executor(), decode_in_worker, *args)
        except BrokenProcessPool:
            self._discard()
            decoded = decode_in_worker(*args)
        event = restored(decoded)
        if isinstance(event, Quarantine):
            raise event
        return event

    def _discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def aclose(self) -> None:
        """Stop the workers, after the decodes under way (their deliveries are still being answered)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, True)
