"""Polling poll-only providers: a watched task is a `poll` job in the durable `JobQueue`.

Registering (`POST /v1/sources/{id}/tasks`, `videohooks watch`) enqueues the job under an id made of
the source and task ids, so registering twice changes nothing. Each run of the job gets the task from
the provider's API, decodes it against `resource_versions` and publishes it when its status is new
(the publisher's dedupe and status order handle repeats after a crash); it stops at a final status.
Between runs the interval starts at `poll_interval_seconds` and grows by half up to
`max_interval_seconds`, longer when the provider sends `Retry-After`. A task with no final status
`deadline_seconds` after its registration is published as `failed` with error `deadline_exceeded`
(relays can leave a job `queued` forever). Failed polls, even those retrying cannot fix (401, 404:
an operator may fix the key), are retried at the same pace until that deadline.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from receiver import metrics
from receiver.backoff import next_due, next_interval
from receiver.clients.pool import ClientPool
from receiver.config import Config
from receiver.errors import Quarantine, RemoteError, redis_errors
from receiver.jobs import Done, Job, JobQueue, JobResult, RunAgain
from receiver.logs import logger
from receiver.pipeline import Pipeline
from receiver.providers import PROVIDERS
from receiver.sources import SourceConfig
from schemas.event import TERMINAL_STATUSES, CanonicalEvent, Error, Status, TaskType
from schemas.normalizing import DeliveryContext, build_event

POLL = "poll"
DEADLINE_EXCEEDED = "deadline_exceeded"
# Polls slow down by half each time: quick for short tasks, gentle on long ones.
POLL_FACTOR = 1.5


class WatchRequest(BaseModel):
    """The body of `POST /v1/sources/{source_id}/tasks`."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,256}$")


class PollJob(BaseModel):
    """A watched task, as its poll job stores it between runs."""

    model_config = ConfigDict(extra="forbid")

    source: str
    task_id: str
    registered_at: float
    # The wait after the next poll; grows by POLL_FACTOR up to the source's max_interval_seconds.
    interval: float
    task_type: TaskType
    # The last status published, and what the provider said of the task besides.
    status: Status | None = None
    model: str | None = None
    last_error: str | None = None
    # The detail of the last poll kept in the dead-letter stream: the same problem is kept once.
    quarantined: str | None = None


def poll_job_id(source_id: str, task_id: str) -> str:
    return f"poll:{source_id}:{task_id}"


def unpollable(source: SourceConfig) -> str | None:
    """Why the receiver cannot poll this source's tasks, or None when it can."""
    return PROVIDERS[source.provider].unpollable(source)


async def watch(queue: JobQueue, source: SourceConfig, task_id: str, now: float) -> bool:
    """Register a watched task; False when it is already watched. Raises `RedisUnavailable`."""
    task_type = PROVIDERS[source.provider].schemas.task_type
    assert task_type is not None  # `unpollable` refuses a provider without one
    job = PollJob(
        source=source.id,
        task_id=task_id,
        registered_at=now,
        interval=source.poll_interval_seconds,
        task_type=task_type,
    )
    with redis_errors("the watch"):
        created = await queue.enqueue(
            poll_job_id(source.id, task_id), POLL, job.model_dump(mode="json"), due=now
        )
    logger.info("poll.watch", source=source.id, task_id=task_id, created=created)
    return created


async def refresh_watched_gauge(queue: JobQueue, config: Config) -> None:
    """Set `videohooks_watched_tasks` from the jobs in Redis, which every receiver process shares."""
    counts = Counter(job.payload.get("source") for job in await queue.jobs(POLL))
    for source in config.sources:
        if PROVIDERS[source.provider].unpollable(source) is None:
            metrics.child(metrics.WATCHED_TASKS, source.id).set(counts[source.id])


class Poller:
    """The `poll` job handler."""

    def __init__(self, config: Config, pipeline: Pipeline, clients: ClientPool) -> None:
        self._config = config
        self._pipeline = pipeline
        self._publisher = pipeline.publisher
        self._clients = clients

    async def __call__(self, job: Job) -> JobResult:
        state = PollJob.model_validate(job.payload)
        source = self._config.source(state.source)
        if source is None:
            logger.error("poll.unknown_source", source=state.source, task_id=state.task_id)
            return Done()
        now = time.time()
        received_at = datetime.now(UTC)
        retry_after = None
        try:
            body = await self._clients.get(source).get_task(state.task_id)
            event = self._pipeline.decode_delivery(source, body, received_at, None, resource=True)
            if event.status != state.status:
                event = await self._pipeline.materialize(event, body)
        except RemoteError as exc:
            metrics.child(metrics.POLL_FAILURES, source.id).inc()
            logger.info("poll.failed", source=source.id, task_id=state.task_id, error=str(exc))
            state.last_error = str(exc)
            retry_after = exc.retry_after
        except Quarantine as quarantine:
            # Kept once per distinct problem, not once per poll: the task is still polled, as its next
            # status may well be one the schemas know.
            if state.quarantined != quarantine.detail:
                await self._pipeline.keep(source, body, {}, received_at, None, quarantine)
                state.quarantined = quarantine.detail
        else:
            if event.status != state.status:
                await self._pipeline.release(event)
                state.status, state.task_type, state.model = event.status, event.task_type, event.model
            if event.status in TERMINAL_STATUSES:
                return Done()
        deadline = state.registered_at + source.deadline_seconds
        if now >= deadline:
            await self._publisher.publish(self._deadline_event(source, state, received_at))
            return Done()
        interval = state.interval
        state.interval = next_interval(interval, POLL_FACTOR, source.max_interval_seconds)
        return RunAgain(next_due(now, interval, retry_after, deadline), state.model_dump(mode="json"))

    @staticmethod
    def _deadline_event(source: SourceConfig, state: PollJob, received_at: datetime) -> CanonicalEvent:
        message = (
            f"no final status within {source.deadline_seconds:g} s of registration "
            f"(last status seen: {state.status or 'none'}"
            + (f"; last error: {state.last_error}" if state.last_error else "")
            + ")"
        )
        ctx = DeliveryContext(source.id, source.provider, received_at, api_base_url=source.api_base_url)
        return build_event(
            ctx,
            task_id=state.task_id,
            task_type=state.task_type,
            status="failed",
            model=state.model,
            error=Error(code=DEADLINE_EXCEEDED, message=message),
        )
