"""Replaying stored deliveries: over HTTP to a running receiver, or straight through the pipeline.

Over HTTP each fixture is signed with its source's current secret and the current time, exactly as the
provider would sign it, so a replay exercises verification too. `--direct` skips HTTP and verification
(the files are trusted) and hands the bodies to the same pipeline the app uses, many at a time so that
they share Redis round trips.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from receiver.config import Config, SourceConfig
from receiver.core.offload import Decoded, DecodeJob, decode_all, restored
from receiver.foundation.errors import CannotSign, RedisUnavailable, VideohooksError
from receiver.foundation.ordered import in_order
from receiver.providers import verifier_for
from receiver.services.fixtures import Fixture
from receiver.wiring.connection import open_pipeline
from schemas.normalizing import DeliveryContext

Progress = Callable[[str], None]

# Files decoded per round trip to a decode process, and how many files make the processes worth
# starting (bench/README.md, "Replay").
DECODE_CHUNK = 256
PARALLEL_FROM = 2_000
HTTP_CONCURRENCY = 16


class ReplayError(VideohooksError):
    """A fixture names a source the configuration does not have."""


@dataclass(frozen=True, slots=True)
class ReplayResult:
    fixture: Fixture
    outcome: str
    event_id: str | None = None


def source_for(config: Config, fixture: Fixture, override: str | None) -> SourceConfig:
    source_id = override or fixture.source
    source = config.source(source_id)
    if source is None:
        raise ReplayError(f"{fixture.path}: source {source_id!r} is not in the configuration")
    if source.provider != fixture.provider:
        raise ReplayError(
            f"{fixture.path}: a {fixture.provider} fixture cannot go to {source_id!r} ({source.provider})"
        )
    return source


async def replay_http(
    config: Config,
    fixtures: Sequence[Fixture],
    base_url: str,
    *,
    source_override: str | None = None,
    progress: Progress | None = None,
) -> list[ReplayResult]:
    sources = [source_for(config, fixture, source_override) for fixture in fixtures]
    verifiers = {source.id: verifier_for(source) for source in sources}
    limit = asyncio.Semaphore(HTTP_CONCURRENCY)

    async def send(client: httpx.AsyncClient, fixture: Fixture, source: SourceConfig) -> ReplayResult:
        if fixture.kind == "resource":
            # An API's answer to a poll or fetch is no callback: only --direct can publish it.
            result = ReplayResult(fixture, NOT_A_CALLBACK)
            if progress:
                progress(result.outcome)
            return result
        try:
            signed = verifiers[source.id].sign(fixture.body, time.time(), fixture.delivery_id)
        except CannotSign as exc:
            raise ReplayError(f"{fixture.path}: {exc}") from None
        url = f"{base_url.rstrip('/')}/v1/callbacks/{source.id}{signed.path_suffix}"
        async with limit:
            try:
                response = await client.post(
                    url,
                    content=fixture.body,
                    headers={"content-type": "application/json", **signed.headers},
                )
            except httpx.HTTPError as exc:
                result = ReplayResult(fixture, f"transport_error:{exc.__class__.__name__}")
            else:
                result = _http_result(fixture, response)
        if progress:
            progress(result.outcome)
        return result

    async with httpx.AsyncClient(timeout=30) as client:
        return list(
            await asyncio.gather(*(send(client, f, s) for f, s in zip(fixtures, sources, strict=True)))
        )


def _http_result(fixture: Fixture, response: httpx.Response) -> ReplayResult:
    try:
        answer = response.json()
    except ValueError:
        return ReplayResult(fixture, f"http_{response.status_code}")
    # Stored: 202, or 200 with the same body for providers that retry anything else (Luma).
    stored = response.status_code == 202 or (response.status_code == 200 and "status" in answer)
    if stored and isinstance(answer, dict):
        return ReplayResult(fixture, answer.get("status", "accepted"), answer.get("event_id"))
    code = (answer.get("error") or {}).get("code") if isinstance(answer, dict) else None
    return ReplayResult(fixture, code or f"http_{response.status_code}")


async def replay_direct(
    config: Config,
    fixtures: Sequence[Fixture],
    *,
    source_override: str | None = None,
    redis_url: str | None = None,
    progress: Progress | None = None,
) -> list[ReplayResult]:
    sources = [source_for(config, fixture, source_override) for fixture in fixtures]
    async with open_pipeline(config, redis_url) as (_, pipeline), _decoder_pool(len(fixtures)) as pool:
        received_at = datetime.now(UTC)
        jobs: list[DecodeJob] = [
            (
                pipeline.schemas[source.provider],
                fixture.body,
                DeliveryContext(
                    source.id, source.provider, received_at, fixture.delivery_id, None, source.api_base_url
                ),
                pipeline.limits,
                fixture.kind == "resource",
            )
            for fixture, source in zip(fixtures, sources, strict=True)
        ]
        # Every chunk is submitted at once: the workers decode ahead while the event loop publishes.
        chunks: list[asyncio.Future[list[Decoded]]] = []
        for start in range(0, len(jobs), DECODE_CHUNK):
            chunks.append(
                asyncio.ensure_future(_decoded(pool, jobs[start : start + DECODE_CHUNK], chunks[-1:]))
            )

        async def deliver(index: int, pair: tuple[Fixture, SourceConfig]) -> ReplayResult:
            fixture, source = pair
            decoded = restored((await chunks[index // DECODE_CHUNK])[index % DECODE_CHUNK])
            try:
                outcome = await pipeline.conclude(
                    source,
                    decoded,
                    fixture.body,
                    fixture.headers,
                    received_at,
                    fixture.delivery_id,
                    resource=fixture.kind == "resource",
                )
            except RedisUnavailable:
                result = ReplayResult(fixture, "unavailable")
            else:
                result = ReplayResult(fixture, outcome.status, outcome.event_id)
            if progress:
                progress(result.outcome)
            return result

        return await in_order(list(zip(fixtures, sources, strict=True)), deliver)


@asynccontextmanager
async def _decoder_pool(count: int) -> AsyncIterator[ProcessPoolExecutor | None]:
    """A process per core to decode a large replay's files in, or None: decoded in process.

    Forked, as nothing but decoding runs in the children, and a spawned interpreter would take most
    of a second to import what a fork already has.
    """
    if count < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        yield None
        return
    pool = ProcessPoolExecutor(os.cpu_count(), mp_context=multiprocessing.get_context("fork"))
    try:
        yield pool
    finally:
        await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)


async def _decoded(
    pool: ProcessPoolExecutor | None, jobs: list[DecodeJob], previous: list[asyncio.Future[list[Decoded]]]
) -> list[Decoded]:
    """A chunk's decodes, once the chunk before it is done: a chunk that a worker finished early must not
    let its files overtake earlier ones into the publisher."""
    if pool is None:
        return decode_all(jobs)
    decoded = asyncio.get_running_loop().run_in_executor(pool, decode_all, jobs)
    for chunk in previous:
        await chunk
    return await decoded


# A resource fixture (the provider API's task object) sent with --to: skipped, not a failure.
NOT_A_CALLBACK = "skipped_not_a_callback"
# Outcomes that mean the receiver took the delivery (or it was rightly skipped); anything else makes a
# replay exit non-zero.
SETTLED_OUTCOMES = frozenset({"accepted", "duplicate", "stale", "quarantined", NOT_A_CALLBACK})


def summarize(results: Sequence[ReplayResult]) -> Counter[str]:
    return Counter(result.outcome for result in results)
