"""The `copy` job: an event's assets copied into the store, then the event published with the copies.

A callback (or poll, or fetch) whose event names assets to copy is not published at once: the event
goes into a `copy` job in the durable `JobQueue` (`defer_copy`), and the callback is acknowledged once
Redis holds the job. The job copies each asset not yet copied, records what it got in its own payload
(so a process that dies mid-copy loses only the asset it was on, whose copy the next one makes again,
to the same key), and retries what failed in a way that can pass, with doubling waits. An asset is
given up (`asset_deadline_exceeded`, naming the last error) at `deadline_seconds` after the event was
ready, or at the provider's own `expires_at` if that comes first; or at once when retrying cannot help
(too large, forbidden address). Once every asset is copied or given up, the event is published: copies
in place of the provider's URLs, and an `extensions.asset_errors` entry for each asset left as the
provider gave it.

Credentials for the provider's API are never stored in the job: they come from the configuration,
looked up by source when the job runs (`SourceTrust`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

import httpx
from pydantic import BaseModel, ConfigDict

from receiver.assets.cloud import CloudReader, in_cloud
from receiver.assets.download import AssetError, Downloader, Trust
from receiver.assets.store import AssetStore, StoredCopy
from receiver.config import Config
from receiver.core.jobs import Done, Job, JobQueue, JobResult, RunAgain
from receiver.core.publisher import Publisher
from receiver.foundation import metrics, tracing
from receiver.foundation.asset_settings import AssetsConfig
from receiver.foundation.backoff import next_due, next_interval
from receiver.foundation.errors import StoreUnavailable
from receiver.foundation.logs import logger
from receiver.sources import SourceConfig
from schemas.event import Asset, CanonicalEvent, event_from_json, event_to_json

COPY = "copy"
DEADLINE_EXCEEDED = "asset_deadline_exceeded"
STORE_FAILED = "asset_store_failed"
RETRY_SECONDS = 2.0
RETRY_FACTOR = 2.0
MAX_RETRY_SECONDS = 300.0
TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=10.0, pool=10.0)

SourceTrust = Callable[[str], Trust]
"""What a download of a source's asset may reach and send: `Trust` for a source id."""


def config_trust(
    config: Config,
    assets: AssetsConfig,
    headers: Callable[[SourceConfig], Mapping[str, str]] = SourceConfig.api_headers,
) -> SourceTrust:
    """Each source's `api_base_url` is trusted and gets `headers(source)` (its provider's API
    credentials, by default); other hosts must be public and get none."""

    def trust(source_id: str) -> Trust:
        source = config.source(source_id)
        if source is None:
            return Trust(allow_private_networks=assets.allow_private_networks)
        return Trust(source.api_base_url, dict(headers(source)), assets.allow_private_networks)

    return trust


def copyable(asset: Asset) -> bool:
    """A provider's asset at an http(s) URL or in a cloud bucket (`gs://`, `s3://`); a stored copy
    (inline media) is already where it belongs."""
    return (
        asset.sha256 is None
        and asset.url is not None
        and (asset.url.startswith(("http://", "https://")) or in_cloud(asset.url))
    )


def needs_copy(event: CanonicalEvent) -> bool:
    return any(copyable(asset) for asset in event.assets)


def copy_job_id(event_id: str) -> str:
    """The copy job of one event: at most one per event, and found again from (source, task, status)."""
    return f"{COPY}:{event_id}"


class Copied(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    content_type: str | None
    bytes: int
    sha256: str


class Failure(BaseModel):
    """The last failure of one asset; `final`: given up, published with this in `asset_errors`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    message: str
    final: bool


class CopyPayload(BaseModel):
    """The job's payload: the event as the provider gave it, and what has been copied so far."""

    model_config = ConfigDict(extra="forbid")

    event: str  # the event's JSON (version 2)
    ready_at: float  # unix seconds: when the event was ready to publish
    deadline: float  # unix seconds: `ready_at + deadline_seconds`
    interval: float = RETRY_SECONDS  # the wait before the next retry
    attempts: int = 0
    # The trace (W3C `traceparent`) of the delivery whose event waits for the copy, when tracing is on.
    traceparent: str | None = None
    # How the receiver learned the event (the task record's account of it).
    why: str = "copied"
    copied: dict[int, Copied] = {}
    failures: dict[int, Failure] = {}


async def defer_copy(
    queue: JobQueue, event: CanonicalEvent, deadline_seconds: float, why: str, now: float | None = None
) -> bool:
    """Enqueue the copy of `event`'s assets instead of publishing it; False when its job already
    exists (a retried callback). Raises `RedisUnavailable` when Redis did not confirm the job."""
    ready_at = time.time() if now is None else now
    payload = CopyPayload(
        event=event_to_json(event).decode(),
        ready_at=ready_at,
        deadline=ready_at + deadline_seconds,
        traceparent=tracing.traceparent() or None,
        why=why,
    )
    return await queue.enqueue(
        copy_job_id(event.event_id),
        COPY,
        payload.model_dump(mode="json"),
        due=ready_at,
        source=event.source,
        deadline=payload.deadline,
    )


async def refresh_pending_copies(queue: JobQueue) -> None:
    metrics.PENDING_COPIES.set(await queue.count(COPY))


class Copier:
    """The `copy` job handler. `aclose()` it at shutdown (it owns the HTTP client)."""

    def __init__(
        self,
        assets: AssetsConfig,
        store: AssetStore,
        publisher: Publisher,
        trust: SourceTrust,
        cloud: CloudReader | None = None,
        *,
        retry_seconds: float = RETRY_SECONDS,
        max_retry_seconds: float = MAX_RETRY_SECONDS,
        watcher: Callable[[CanonicalEvent], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._publisher = publisher
        # Told of each event published, as the pipeline is (`Pipeline.watch`: a watch Redis cannot start
        # is logged, never a failed copy): an event with `asset_errors` is incomplete, and its task is
        # watched so that a complete result supersedes it.
        self._watcher = watcher
        self._trust = trust
        self._cloud = cloud
        self._retry_seconds = retry_seconds
        self._max_retry_seconds = max_retry_seconds
        # No redirects (followed by hand, each checked) and no proxies from the environment (a proxy
        # would connect by name, not to the address the downloader checked).
        self._client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False)
        self._downloader = Downloader(self._client, assets.max_bytes)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __call__(self, job: Job) -> JobResult:
        state = CopyPayload.model_validate(job.payload)
        event = event_from_json(state.event)
        trust = self._trust(event.source)
        retry_after = 0.0
        for index, asset in enumerate(event.assets):
            failure = state.failures.get(index)
            if (
                not self._copies(event.source, asset)
                or index in state.copied
                or (failure is not None and failure.final)
            ):
                continue
            try:
                copied = await self._copy(event, index, asset, trust)
            except AssetError as error:
                state.failures[index] = failure = self._failure(state, asset, error)
                give_up = failure.final
                metrics.child(metrics.ASSET_COPIES, event.source, "failed" if give_up else "retry").inc()
                logger.info(
                    "asset.copy_failed",
                    source=event.source,
                    task_id=event.task_id,
                    index=index,
                    code=error.code,
                    error=error.message,
                    given_up=give_up,
                )
                retry_after = max(retry_after, error.retry_after or 0.0)
                continue
            state.copied[index] = Copied(
                url=copied.url, content_type=copied.content_type, bytes=copied.bytes, sha256=copied.sha256
            )
            state.failures.pop(index, None)
            metrics.child(metrics.ASSET_COPIES, event.source, "copied").inc()
            metrics.child(metrics.ASSET_BYTES, event.source).inc(copied.bytes)
        waiting = [
            self._give_up_at(state, event.assets[index])
            for index, failure in state.failures.items()
            if not failure.final
        ]
        if waiting:
            return self._retry(state, retry_after, min(waiting))
        finished = with_copies(event, state)
        publication = await self._publisher.publish(finished, f"{state.why}, its assets copied")
        if publication.outcome == "accepted" and self._watcher is not None:
            await self._watcher(finished)
        return Done()

    def _copies(self, source_id: str, asset: Asset) -> bool:
        """`copyable`, and a cloud URL only where the source has storage credentials for that cloud
        (another provider's `gs://` link stays as it is, as it always has)."""
        if not copyable(asset):
            return False
        assert asset.url is not None  # `copyable`
        return not in_cloud(asset.url) or (
            self._cloud is not None and self._cloud.reads(source_id, asset.url)
        )

    def _retry(self, state: CopyPayload, retry_after: float, give_up_at: float) -> RunAgain:
        interval = state.interval if state.attempts else self._retry_seconds
        due = next_due(time.time(), interval, retry_after, give_up_at)
        state.interval = next_interval(interval, RETRY_FACTOR, self._max_retry_seconds)
        state.attempts += 1
        return RunAgain(due, state.model_dump(mode="json"))

    def _failure(self, state: CopyPayload, asset: Asset, error: AssetError) -> Failure:
        if not error.retryable:
            return Failure(code=error.code, message=error.message, final=True)
        give_up_at = self._give_up_at(state, asset)
        if time.time() < give_up_at:
            return Failure(code=error.code, message=error.message, final=False)
        why = "the provider's expiry" if give_up_at < state.deadline else "the deadline"
        return Failure(
            code=DEADLINE_EXCEEDED,
            message=f"still failing at {why}, {give_up_at - state.ready_at:.0f} s after the event was ready"
            f" ({state.attempts + 1} attempts): {error.code}: {error.message}",
            final=True,
        )

    @staticmethod
    def _give_up_at(state: CopyPayload, asset: Asset) -> float:
        """The deadline, or the provider's expiry when that comes first: the URL is dead by then."""
        if asset.expires_at is None:
            return state.deadline
        return min(state.deadline, asset.expires_at.timestamp())

    async def _copy(self, event: CanonicalEvent, index: int, asset: Asset, trust: Trust) -> StoredCopy:
        assert asset.url is not None  # `copyable`
        started = time.perf_counter()
        if in_cloud(asset.url):
            assert self._cloud is not None  # `_copies`
            opened = self._cloud.open(event.source, asset.url)
        else:
            opened = self._downloader.open(asset.url, trust)
        try:
            async with opened as (chunks, tally):
                key = self._store.key(
                    event.source, event.task_id, index, asset.kind, tally.content_type, asset.url
                )
                try:
                    url = await self._store.put(key, chunks, tally.content_type)
                except StoreUnavailable as exc:  # the store, not the asset, failed
                    raise AssetError(
                        STORE_FAILED,
                        f"the store refused {key}: {exc.__class__.__name__}: {exc}",
                        retryable=True,
                    ) from None
        finally:
            metrics.ASSET_COPY_SECONDS.observe(time.perf_counter() - started)
        return StoredCopy(url, tally.content_type, tally.bytes, tally.sha256)


def with_copies(event: CanonicalEvent, state: CopyPayload) -> CanonicalEvent:
    """The event to publish: each copied asset points at its copy (the provider's URL as `source_url`),
    the others stay as they were, each with its `asset_errors` entry."""
    assets = list(event.assets)
    for index, copied in state.copied.items():
        assets[index] = replace(
            assets[index],
            url=copied.url,
            expires_at=None,
            source_url=assets[index].url,
            content_type=copied.content_type,
            bytes=copied.bytes,
            sha256=copied.sha256,
        )
    errors = [
        {"index": index, "code": failure.code, "message": failure.message}
        for index, failure in sorted(state.failures.items())
    ]
    extensions = {**event.extensions, "asset_errors": errors} if errors else event.extensions
    return replace(event, assets=tuple(assets), extensions=extensions)
