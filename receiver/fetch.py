"""Fetch-on-notify: a thin webhook is acknowledged once a fetch job is durable, and published when fetched.

A callback whose provider has `resource_versions`, from a source with an `api_key`, is not published
as it is: its (thin) event is kept as the payload of a fetch job in the durable `JobQueue`, and the
callback is answered 202 `accepted` once Redis confirmed the enqueue, without waiting for the provider's
API. The job id is derived from the event id, so a webhook retry while the job is pending finds it and
answers `duplicate`; a retry after the event is published finds the publisher's markers and does too.

The job fetches the object, decodes it against the provider's `resource_versions` (with the webhook's
event as `ctx.notice`) and publishes it under the webhook's delivery id. A fetch that fails in a way
that can pass is retried with doubling waits (at least the provider's `Retry-After`) until
`fetch_deadline_seconds` after the webhook; past that, or when retrying cannot help (401, 404), the
webhook's own event is published with `error = {"code": "fetch_failed", ...}`: the task's outcome is
never lost because its API misbehaved. A fetched object no schema version accepts is kept in the
dead-letter stream, and the webhook's event is published with `fetch_failed` as well.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace

from redis.exceptions import RedisError

from receiver import metrics
from receiver.backoff import next_due, next_interval
from receiver.clients import CLIENTS, RemoteError
from receiver.clients.pool import ClientPool
from receiver.config import Config, SourceConfig
from receiver.jobs import Done, Job, JobQueue, JobResult, RunAgain
from receiver.logs import logger
from receiver.pipeline import Outcome, Quarantine, decode_resource
from receiver.publisher import Publisher, RedisUnavailable
from schemas.event import CanonicalEvent, Error, event_from_json, event_to_json
from schemas.normalizing import DeliveryContext
from schemas.registry import PROVIDERS

FETCH = "fetch"
FETCH_FAILED = "fetch_failed"
# Fetch retries double: a provider in trouble is given room quickly, and the deadline bounds the total.
RETRY_FACTOR = 2.0


def fetch_job_id(event: CanonicalEvent) -> str:
    return f"fetch:{event.event_id}"


def fetches(source: SourceConfig) -> bool:
    """Whether a callback of this source is fetched in full before it is published."""
    return (
        bool(PROVIDERS[source.provider].resource_versions)
        and source.api_key is not None
        and source.provider in CLIENTS
    )


class FetchDeferral:
    """The pipeline's `Deferral` for thin webhooks: enqueue a fetch job instead of publishing."""

    def __init__(self, publisher: Publisher, queue: JobQueue) -> None:
        self._publisher = publisher
        self._queue = queue

    def applies(self, source: SourceConfig) -> bool:
        return fetches(source)

    async def defer(self, source: SourceConfig, event: CanonicalEvent, headers: Mapping[str, str]) -> Outcome:
        payload = {"notice": event_to_json(event).decode(), "headers": dict(headers)}
        try:
            if await self._publisher.published(event):
                return Outcome("duplicate", event_id=event.event_id)
            created = await self._queue.enqueue(fetch_job_id(event), FETCH, payload, due=time.time())
        except (RedisError, OSError) as exc:
            raise RedisUnavailable(f"redis did not confirm the fetch job: {exc.__class__.__name__}") from exc
        return Outcome("accepted" if created else "duplicate", event_id=event.event_id)


class _GiveUp(Exception):
    """Fetching is over without a result: the webhook's event is published with this message."""


class Fetcher:
    """The `fetch` job handler."""

    def __init__(self, config: Config, publisher: Publisher, clients: ClientPool) -> None:
        self._config = config
        self._publisher = publisher
        self._clients = clients

    async def __call__(self, job: Job) -> JobResult:
        notice = event_from_json(job.payload["notice"])
        source = self._config.source(notice.source)
        if source is None:
            return await self._give_up(notice, f"source {notice.source!r} is no longer configured")
        try:
            event = await self._fetch(source, notice, job.payload.get("headers") or {})
        except RemoteError as exc:
            return await self._retry(job, source, notice, exc)
        except _GiveUp as exc:
            return await self._give_up(notice, str(exc))
        await self._publisher.publish(event)
        return Done()

    async def _retry(
        self, job: Job, source: SourceConfig, notice: CanonicalEvent, error: RemoteError
    ) -> JobResult:
        metrics.child(metrics.FETCH_FAILURES, source.id).inc()
        if not error.retryable:
            return await self._give_up(notice, str(error))
        now = time.time()
        deadline = notice.received_at.timestamp() + source.fetch_deadline_seconds
        if now >= deadline:
            return await self._give_up(
                notice, f"{error}; still failing {source.fetch_deadline_seconds:g} s after the webhook"
            )
        interval = float(job.payload.get("interval") or source.fetch_retry_seconds)
        logger.info("fetch.retry", source=source.id, task_id=notice.task_id, error=str(error))
        return RunAgain(
            next_due(now, interval, error.retry_after, deadline),
            {**job.payload, "interval": next_interval(interval, RETRY_FACTOR, source.max_interval_seconds)},
        )

    async def _fetch(
        self, source: SourceConfig, notice: CanonicalEvent, headers: Mapping[str, str]
    ) -> CanonicalEvent:
        body = await self._clients.get(source).get_task(notice.task_id)
        ctx = DeliveryContext(
            source.id, source.provider, notice.received_at, notice.delivery_id, notice, source.api_base_url
        )
        try:
            event = decode_resource(PROVIDERS[source.provider], body, ctx)
        except Quarantine as quarantine:
            await self._publisher.quarantine(
                source.id, quarantine.reason, quarantine.detail, headers, body, notice.received_at
            )
            raise _GiveUp(
                f"the fetched object of {notice.task_id} is kept in the dead-letter stream "
                f"({quarantine.reason}: {quarantine.detail})"
            ) from None
        if event.status != notice.status:
            # The API can lag the webhook: ask again rather than publish what the webhook already overtook.
            raise RemoteError(
                f"the fetched object says {event.status!r}, the webhook {notice.status!r}", retryable=True
            )
        return event

    async def _give_up(self, notice: CanonicalEvent, message: str) -> JobResult:
        logger.warning("fetch.failed", source=notice.source, task_id=notice.task_id, error=message)
        await self._publisher.publish(replace(notice, error=Error(code=FETCH_FAILED, message=message)))
        return Done()
