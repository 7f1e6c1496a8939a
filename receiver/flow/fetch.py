"""Fetch-on-notify: a thin webhook is acknowledged once a fetch job is durable, and published when fetched.

A callback that its provider says is only a notification (`Provider.fetches`: a thin webhook, or an
unsigned one, from a source with API credentials) is not published as it is: its event is kept as the
payload of a fetch job in the durable `JobQueue`, and the callback is answered 202 `accepted` once Redis
confirmed the enqueue, without waiting for the provider's API. The job id is derived from the event id,
so a webhook retry while the job is pending finds it and answers `duplicate`; a retry after the event is
published finds the publisher's markers and does too.

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
from dataclasses import replace

from pydantic import BaseModel, ConfigDict

from receiver.clients.task_path import get_task
from receiver.config import Config
from receiver.core.budget import ApiBudget
from receiver.core.client_pool import ClientPool
from receiver.core.decision import FETCH_FAILED, Publish, Wait, decide
from receiver.core.delivery import Delivery
from receiver.core.jobs import Done, Job, JobQueue, JobResult, RunAgain
from receiver.core.publisher import Publisher
from receiver.flow.pipeline import Outcome, Pipeline, public_headers
from receiver.foundation import metrics, tracing
from receiver.foundation.backoff import next_due, next_interval
from receiver.foundation.errors import Quarantine, RemoteError, StoreUnavailable
from receiver.foundation.logs import logger
from receiver.providers import PROVIDERS
from receiver.sources import SourceConfig
from receiver.verifiers import SIGNATURE_SCHEMES
from schemas.event import CanonicalEvent, Error, event_from_json, event_to_json

FETCH = "fetch"
UNKNOWN_TASK = "unknown_task"
# Fetch retries double: a provider in trouble is given room quickly, and the deadline bounds the total.
RETRY_FACTOR = 2.0


class FetchJob(BaseModel):
    """A fetch job's payload, as stored in the job queue."""

    model_config = ConfigDict(extra="forbid")

    # The callback's own event, as JSON: what is published if the fetch of a proven callback never
    # succeeds.
    notice: str
    # The callback's headers without credentials, kept with the fetched object if it is quarantined.
    headers: dict[str, str] = {}
    # The wait before the next retry; None until a fetch has failed.
    interval: float | None = None
    # Whether the callback's scheme proved its body (a signature). An unproven one (a URL token) is a
    # notification only: its own event is never published, and its body is kept here, to be put in
    # the dead-letter stream if the API never confirms the task.
    proven: bool = True
    body: str | None = None
    # The callback's trace (W3C `traceparent`) when tracing is on: each fetch continues it.
    traceparent: str | None = None


def fetch_job_id(event_id: str) -> str:
    """The fetch job of one notice: at most one per event, and found again from (source, task, status)."""
    return f"{FETCH}:{event_id}"


class FetchDeferral:
    """The pipeline's `Deferral` for thin webhooks: enqueue a fetch job instead of publishing."""

    def __init__(self, publisher: Publisher, queue: JobQueue) -> None:
        self._publisher = publisher
        self._queue = queue

    def applies(self, source: SourceConfig, event: CanonicalEvent) -> bool:
        return PROVIDERS[source.provider].fetches(source, event)

    async def defer(self, delivery: Delivery, event: CanonicalEvent) -> Outcome:
        proven = SIGNATURE_SCHEMES[delivery.source.verify].proves_body
        # An unproven notification's own status may never be published: its answer names no event.
        event_id = event.event_id if proven else None
        if dropped := await self._publisher.foreseen_drop(event):
            return Outcome(dropped.outcome, event_id=event_id)
        job = FetchJob(
            notice=event_to_json(event).decode(),
            headers=public_headers(delivery.headers),
            proven=proven,
            body=None if proven else delivery.body.decode(),
            traceparent=tracing.traceparent() or None,
        )
        source = delivery.source
        created = await self._queue.enqueue(
            fetch_job_id(event.event_id),
            FETCH,
            job.model_dump(mode="json"),
            due=time.time(),
            source=source.id,
            deadline=event.received_at.timestamp() + source.fetch_deadline_seconds,
        )
        return Outcome("accepted" if created else "duplicate", event_id=event_id)


class _GiveUp(Exception):
    """Fetching is over without a result: the webhook's event is published with this message."""


class Fetcher:
    """The `fetch` job handler."""

    def __init__(self, config: Config, pipeline: Pipeline, clients: ClientPool, budget: ApiBudget) -> None:
        self._config = config
        self._pipeline = pipeline
        self._publisher = pipeline.publisher
        self._clients = clients
        self._budget = budget

    async def __call__(self, job: Job) -> JobResult:
        state = FetchJob.model_validate(job.payload)
        notice = event_from_json(state.notice)
        source = self._config.source(notice.source)
        if source is None:
            # Claimed only past its deadline: no process that has the source took it in time.
            message = f"no receiver with source {notice.source!r} configured fetched it before its deadline"
            return await self._give_up(state, notice, message)
        turn = await self._budget.reserve_for(source)
        if turn:
            return RunAgain(time.time() + turn, job.payload)
        try:
            decision = await self._fetch(source, state, notice)
        except RemoteError as exc:
            return await self._retry(state, source, notice, exc)
        except _GiveUp as exc:
            return await self._give_up(state, notice, str(exc))
        await self._pipeline.release(decision.event, decision.why)
        return Done()

    async def _retry(
        self, state: FetchJob, source: SourceConfig, notice: CanonicalEvent, error: RemoteError
    ) -> JobResult:
        metrics.child(metrics.FETCH_FAILURES, source.id).inc()
        if error.retry_after:
            await self._budget.pause(source, error.retry_after)
        # A notification naming a task the API does not know may be ahead of the API, or forged: it is
        # asked again until the deadline. Any other final error ends a proven callback's fetch at once.
        # A rejected key is logged once per source. A proven callback's own event is then published at
        # once; an unproven notification, which has no event to fall back on, is asked again at the
        # slowest pace, so that an operator may fix the key before the deadline.
        slow = self._clients.key_rejected(source, error) and not state.proven
        if not error.retryable and not slow and (state.proven or error.status != 404):
            return await self._give_up(state, notice, str(error), error.status)
        now = time.time()
        deadline = notice.received_at.timestamp() + source.fetch_deadline_seconds
        if now >= deadline:
            message = f"{error}; still failing {source.fetch_deadline_seconds:g} s after the webhook"
            return await self._give_up(state, notice, message, error.status)
        interval = state.interval or source.fetch_retry_seconds
        logger.info("fetch.retry", source=source.id, task_id=notice.task_id, error=str(error))
        state.interval = next_interval(interval, RETRY_FACTOR, source.max_interval_seconds)
        retry_after = source.max_interval_seconds if slow else error.retry_after
        return RunAgain(next_due(now, interval, retry_after, deadline), state.model_dump(mode="json"))

    async def _fetch(self, source: SourceConfig, state: FetchJob, notice: CanonicalEvent) -> Publish:
        """The API's answer, decided on against the webhook's word: published, or asked again
        (`RemoteError`, retryable) while it lags behind a proven webhook or the store is out."""
        body = await get_task(self._clients.get(source), notice.task_id, notice.task_type)
        delivery = Delivery(
            source, body, "resource", "api", notice.received_at, notice.delivery_id, state.headers, notice
        )
        try:
            event = await self._pipeline.prepare(delivery)
        except StoreUnavailable as exc:
            raise RemoteError(str(exc), retryable=True) from None
        except Quarantine as quarantine:
            await self._pipeline.keep(delivery, quarantine)
            raise _GiveUp(
                f"the fetched object of {notice.task_id} is kept in the dead-letter stream "
                f"({quarantine.reason}: {quarantine.detail})"
            ) from None
        # An unproven notification's claim counts for nothing: what the API says is published.
        decision = decide(event, "fetched after a webhook", notice=notice, proven=state.proven)
        if isinstance(decision, Wait):  # the API can lag the webhook: ask again
            raise RemoteError(decision.why, retryable=True)
        assert isinstance(decision, Publish)  # without a holder, `decide` publishes or waits
        return decision

    async def _give_up(
        self, state: FetchJob, notice: CanonicalEvent, message: str, status: int | None = None
    ) -> JobResult:
        logger.warning("fetch.failed", source=notice.source, task_id=notice.task_id, error=message)
        if state.proven:
            # Incomplete: published now, the task watched, and superseded once its result is known.
            incomplete = replace(notice, error=Error(code=FETCH_FAILED, message=message))
            await self._pipeline.release(incomplete, "a webhook whose fetch failed")
        else:
            # Never confirmed by the API: kept for an operator, no event, no watch (receiver/services/dlq.py
            # refuses to redrive `unknown_task`).
            reason = UNKNOWN_TASK if status == 404 else FETCH_FAILED
            await self._publisher.quarantine(
                notice.source,
                reason,
                f"the notification of {notice.task_id} was never confirmed by the provider's API: {message}",
                state.headers,
                (state.body or "").encode(),
                notice.received_at,
                notice.delivery_id,
                provenance="notification",
            )
        return Done()
