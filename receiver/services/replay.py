"""Replaying stored deliveries: over HTTP to a running receiver, or straight through the pipeline.

Over HTTP each fixture is signed with its source's current secret and the current time, exactly as the
provider would sign it, so a replay exercises verification too. `--direct` skips HTTP and verification
(the files are trusted) and hands the events to the same pipeline the app uses, many at a time so that
they share Redis round trips.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from receiver.config import Config, LimitsConfig, SourceConfig
from receiver.core.delivery import Delivery
from receiver.core.offload import Decoded, DecodeJob, decode_in_worker, restored
from receiver.core.publisher import Publication
from receiver.flow.pipeline import Pipeline
from receiver.foundation.errors import CannotSign, Quarantine, RedisUnavailable, VideohooksError
from receiver.providers import verifier_for
from receiver.services.fixtures import Fixture, load_fixture
from receiver.wiring.connection import open_pipeline
from schemas.event import CanonicalEvent
from schemas.normalizing import DeliveryContext
from schemas.provider import ProviderSchemas

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
    path: Path
    outcome: str
    event_id: str | None = None
    # Why it was skipped, for a person (`CANNOT_SIGN`: the scheme's own explanation).
    detail: str | None = None


def source_for(config: Config, fixture: Fixture, override: str | None) -> SourceConfig:
    """`override`, else the source the fixture names, else the one source of its provider the
    configuration has: the shipped fixtures name the test suite's sources (`openai-thin`, `ark-api`),
    which a configuration of one source per provider does not have (`substitutions` lists them)."""
    source_id = override or fixture.source
    source = config.source(source_id)
    if source is None and override is None:
        same_provider = [source for source in config.sources if source.provider == fixture.provider]
        source = same_provider[0] if len(same_provider) == 1 else None
    if source is None:
        raise ReplayError(
            f"{fixture.path}: source {source_id!r} is not in the configuration"
            + ("" if override else f", nor is exactly one {fixture.provider} source")
        )
    if source.provider != fixture.provider:
        raise ReplayError(
            f"{fixture.path}: a {fixture.provider} fixture cannot go to {source_id!r} ({source.provider})"
        )
    return source


def substitutions(
    config: Config, fixtures: Sequence[Fixture], override: str | None
) -> dict[tuple[str, str], int]:
    """How many fixtures go to another source than the one they name, by (named, used): said to the
    user, so that a replay never silently sends anything elsewhere. An HTTP replay passes only its
    `callbacks`: the resource fixtures it skips go nowhere."""
    moved: Counter[tuple[str, str]] = Counter()
    for fixture in fixtures:
        used = source_for(config, fixture, override).id
        if override is None and used != fixture.source:
            moved[(fixture.source, used)] += 1
    return dict(moved)


def callbacks(fixtures: Sequence[Fixture]) -> list[Fixture]:
    """The fixtures an HTTP replay posts: an API's answer to a poll or fetch is no callback."""
    return [fixture for fixture in fixtures if fixture.kind != "resource"]


async def replay_http(
    config: Config,
    fixtures: Sequence[Fixture],
    base_url: str,
    *,
    source_override: str | None = None,
    progress: Progress | None = None,
) -> list[ReplayResult]:
    """Post every callback fixture; resource fixtures are skipped (only --direct can publish them), so
    they need no source. A fixture its source cannot sign (fal signs with a private key of its own)
    is skipped too, said in its outcome."""
    posted = callbacks(fixtures)
    sources = {id(fixture): source_for(config, fixture, source_override) for fixture in posted}
    verifiers = {source.id: verifier_for(source) for source in sources.values()}
    limit = asyncio.Semaphore(HTTP_CONCURRENCY)

    async def send(client: httpx.AsyncClient, fixture: Fixture) -> ReplayResult:
        result = await post(client, fixture)
        if progress:
            progress(result.outcome)
        return result

    async def post(client: httpx.AsyncClient, fixture: Fixture) -> ReplayResult:
        if fixture.kind == "resource":
            return ReplayResult(fixture.path, NOT_A_CALLBACK)
        source = sources[id(fixture)]
        try:
            signed = verifiers[source.id].sign(fixture.body, time.time(), fixture.delivery_id)
        except CannotSign as exc:
            return ReplayResult(fixture.path, CANNOT_SIGN, detail=f"{source.id}: {exc}")
        url = f"{base_url.rstrip('/')}/v1/callbacks/{source.id}{signed.path_suffix}"
        async with limit:
            try:
                response = await client.post(
                    url,
                    content=fixture.body,
                    headers={"content-type": "application/json", **signed.headers},
                )
            except httpx.HTTPError as exc:
                return ReplayResult(fixture.path, f"transport_error:{exc.__class__.__name__}")
        return _http_result(fixture, response)

    async with httpx.AsyncClient(timeout=30) as client:
        return list(await asyncio.gather(*(send(client, fixture) for fixture in fixtures)))


def _http_result(fixture: Fixture, response: httpx.Response) -> ReplayResult:
    outcome = response.headers.get("videohooks-outcome")
    if outcome is not None:  # a provider answered with fixed text (PixVerse's `ok`)
        return ReplayResult(fixture.path, outcome, response.headers.get("videohooks-event-id"))
    try:
        answer = response.json()
    except ValueError:
        return ReplayResult(fixture.path, f"http_{response.status_code}")
    # Stored: 202, or 200 with the same body for providers that retry anything else (Luma).
    stored = response.status_code == 202 or (response.status_code == 200 and "status" in answer)
    if stored and isinstance(answer, dict):
        return ReplayResult(fixture.path, answer.get("status", "accepted"), answer.get("event_id"))
    code = (answer.get("error") or {}).get("code") if isinstance(answer, dict) else None
    return ReplayResult(fixture.path, code or f"http_{response.status_code}")


@dataclass(frozen=True, slots=True)
class _Reading:
    """What turning fixture files into events needs: given once to each decode process."""

    config: Config
    schemas: Mapping[str, ProviderSchemas]
    limits: LimitsConfig
    received_at: datetime
    source_override: str | None


# A fixture file read and decoded: the id of its source, whether it is a resource, its decode. The
# fixture itself stays in the decode process (sending it back would cost more than its decode, see
# bench/README.md, "Replay"); the few files concluded one at a time are read again by the event loop.
Read = tuple[str, bool, Decoded]

# PERF: the decode process's `_Reading`, set once by the pool's initializer (inherited by the fork, never
# pickled) rather than sent with every chunk (bench/README.md, index: replay).
_reading: _Reading | None = None


def _set_reading(reading: _Reading) -> None:
    global _reading
    _reading = reading


def read_all(reading: _Reading, paths: Sequence[Path]) -> list[Read]:
    """Load and decode fixture files. Raises `FixtureError` or `ReplayError` for the first file that
    cannot be replayed."""
    read: list[Read] = []
    for path in paths:
        fixture = load_fixture(path)
        source = source_for(reading.config, fixture, reading.source_override)
        ctx = DeliveryContext(
            source.id, source.provider, reading.received_at, fixture.delivery_id, None, source.api_base_url
        )
        resource = fixture.kind == "resource"
        job: DecodeJob = (reading.schemas[source.provider], fixture.body, ctx, reading.limits, resource)
        read.append((source.id, resource, decode_in_worker(*job)))
    return read


def _read_in_worker(paths: list[str]) -> list[Read]:
    """`read_all` in a decode process; the paths come as text, which pickles in a tenth of the time."""
    assert _reading is not None, "the pool's initializer sets it"
    return read_all(_reading, [Path(path) for path in paths])


async def replay_direct(
    config: Config,
    paths: Sequence[Path],
    *,
    source_override: str | None = None,
    redis_url: str | None = None,
    progress: Progress | None = None,
) -> list[ReplayResult]:
    """Every fixture file through the pipeline, its events reaching the stream in file order.

    The files are read and decoded in chunks by a process per core (in this one for a few files);
    the event loop takes the chunks in order and hands each chunk's plain events (nothing to store,
    copy or fetch first) to the publisher together. A file that is not a fixture, or names an
    unknown source, stops the replay with `FixtureError` or `ReplayError`; what was published before
    it stays, and replaying again dedupes it.
    """
    if source_override is not None and config.source(source_override) is None:
        raise ReplayError(f"source {source_override!r} is not in the configuration")
    async with open_pipeline(config, redis_url) as (_, pipeline):
        reading = _Reading(config, pipeline.schemas, pipeline.limits, datetime.now(UTC), source_override)
        async with _decoder_pool(len(paths), reading) as pool:
            # Every chunk is submitted at once: the workers read and decode ahead while the loop publishes.
            chunks: list[tuple[list[Path], asyncio.Future[list[Read]]]] = []
            for start in range(0, len(paths), DECODE_CHUNK):
                chunk = list(paths[start : start + DECODE_CHUNK])
                previous = [future for _, future in chunks[-1:]]
                chunks.append((chunk, asyncio.ensure_future(_read(pool, reading, chunk, previous))))
            published: list[asyncio.Future[list[ReplayResult]]] = []
            try:
                for chunk, read in chunks:
                    published.extend(await _conclude_chunk(pipeline, reading, chunk, await read, progress))
            except BaseException:
                for _, read in chunks:
                    read.cancel()
                await asyncio.gather(*published, return_exceptions=True)
                raise
            return [result for results in await asyncio.gather(*published) for result in results]


async def _conclude_chunk(
    pipeline: Pipeline, reading: _Reading, paths: list[Path], chunk: list[Read], progress: Progress | None
) -> list[asyncio.Future[list[ReplayResult]]]:
    """Hand a chunk's files to the pipeline in file order; what is still being published is returned.

    Runs of plain events go to the publisher as one `publish_many` (one future to await per run, not a
    coroutine per file through `conclude`); anything else is concluded one file at a time, after the
    runs queued before it.
    """
    # PERF: batched hand-over (bench/README.md, index: replay).
    started: list[asyncio.Future[list[ReplayResult]]] = []
    run: list[tuple[Path, CanonicalEvent, str]] = []
    for path, (source_id, resource, decoded) in zip(paths, chunk, strict=True):
        source = reading.config.source(source_id)
        if source is None:  # read_all found it; a config cannot lose it in between
            raise ReplayError(f"{path}: source {source_id!r} is not in the configuration")
        settled = restored(decoded)
        if not isinstance(settled, Quarantine) and pipeline.publishes_directly(
            source, settled, resource=resource
        ):
            run.append((path, settled, f"{'resource' if resource else 'callback'} (replay)"))  # Delivery.why
            continue
        if run:
            started.append(asyncio.ensure_future(_publish_run(pipeline, run, progress)))
            run = []
        fixture = load_fixture(path)  # its body and headers: a dead letter, media, a fetch job keep them
        delivery = Delivery(
            source,
            fixture.body,
            fixture.kind,
            "replay",
            reading.received_at,
            fixture.delivery_id,
            fixture.headers,
        )
        try:
            outcome = await pipeline.conclude(delivery, settled)
        except RedisUnavailable:
            result = ReplayResult(path, "unavailable")
        else:
            result = ReplayResult(path, outcome.status, outcome.event_id)
        if progress:
            progress(result.outcome)
        concluded = asyncio.get_running_loop().create_future()
        concluded.set_result([result])
        started.append(concluded)
    if run:
        started.append(asyncio.ensure_future(_publish_run(pipeline, run, progress)))
    return started


async def _publish_run(
    pipeline: Pipeline, run: list[tuple[Path, CanonicalEvent, str]], progress: Progress | None
) -> list[ReplayResult]:
    publications = pipeline.publisher.publish_many([(event, why) for _, event, why in run])
    results = []
    for (path, event, _), publication in zip(run, await publications, strict=True):
        if isinstance(publication, Publication):
            # A completion is published under a new id (`Publication.event_id`), as `Pipeline` reports it.
            result = ReplayResult(path, publication.outcome, publication.event_id or event.event_id)
            if publication.outcome == "accepted":
                await pipeline.watch(event)
        else:
            result = ReplayResult(path, "unavailable")
        if progress:
            progress(result.outcome)
        results.append(result)
    return results


@asynccontextmanager
async def _decoder_pool(count: int, reading: _Reading) -> AsyncIterator[ProcessPoolExecutor | None]:
    """A process per core to read and decode a large replay's files in, or None: decoded in process.

    Forked, as nothing but decoding runs in the children, and a spawned interpreter would take most
    of a second to import what a fork already has.
    """
    if count < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        yield None
        return
    pool = ProcessPoolExecutor(
        os.cpu_count(),
        mp_context=multiprocessing.get_context("fork"),
        initializer=_set_reading,
        initargs=(reading,),
    )
    try:
        yield pool
    finally:
        await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)


async def _read(
    pool: ProcessPoolExecutor | None,
    reading: _Reading,
    paths: list[Path],
    previous: list[asyncio.Future[list[Read]]],
) -> list[Read]:
    """A chunk's files read and decoded, once the chunk before it is done: a chunk that a worker
    finished early must not let its files overtake earlier ones into the publisher."""
    if pool is None:
        return read_all(reading, paths)
    read = asyncio.get_running_loop().run_in_executor(pool, _read_in_worker, [str(path) for path in paths])
    for chunk in previous:
        await chunk
    return await read


# A resource fixture (the provider API's task object) sent with --to: skipped, not a failure.
NOT_A_CALLBACK = "skipped_not_a_callback"
# A callback its source's scheme cannot sign here (fal's ED25519 key is fal's alone): skipped; --direct,
# which verifies nothing, publishes it.
CANNOT_SIGN = "skipped_cannot_sign"
# Outcomes that mean the receiver took the delivery (or it was rightly skipped); anything else makes a
# replay exit non-zero.
SETTLED_OUTCOMES = frozenset({"accepted", "duplicate", "stale", "quarantined", NOT_A_CALLBACK, CANNOT_SIGN})


def summarize(results: Sequence[ReplayResult]) -> Counter[str]:
    return Counter(result.outcome for result in results)
