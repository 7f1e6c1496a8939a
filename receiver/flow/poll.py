"""Watched tasks: a `poll` job in the durable `JobQueue` per task, polled until a final status.

Registering (`POST /v1/sources/{id}/tasks`, `videohooks watch`, or, for callback sources, a callback
with a non-final status) enqueues the job under an id made of the source and task ids, so registering
twice changes nothing. The job lives in Redis: a receiver restarted or replaced keeps every watch.

- A poll-only source's task is polled at once.
- A callback source's task waits for its callbacks: the first run comes `reconcile_after_seconds`
  after the watch began. If a final status was published by then (by a callback), the watch ends
  without a single poll; otherwise the callback was lost, and the task is polled (`reconciling`)
  until a final status. Every run first looks for a final status a callback may have brought since.

Each poll takes a turn from the source's API budget (receiver/core/budget.py; no turn: the job comes back
when one is free, not counted as an attempt), gets the task from the provider's API, decodes it
against `resource_versions` and publishes it when its status is new. Callbacks and polls share the
publisher's dedupe and status order: each (source, task, status) is published once, whichever path saw
it first. Between runs the interval starts at `poll_interval_seconds` and grows by half up to
`max_interval_seconds`, longer when the provider sends `Retry-After`, which also pauses every call of
that source to its API; each wait is lengthened by up to a tenth at random (`POLL_JITTER`), so that
tasks watched at the same moment spread out. The job runner claims the earliest due polls first. A
task with no final status `deadline_seconds` after its watch began is published as `failed` with error
`deadline_exceeded` (relays can leave a job `queued` forever), or `not_found` when the API's last
answer was 404. Failed polls, even those retrying cannot fix (401, 404:
an operator may fix the key), are retried at the same pace until that deadline.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from receiver.clients.task_path import get_task
from receiver.config import Config
from receiver.core.budget import ApiBudget
from receiver.core.client_pool import ClientPool
from receiver.core.decision import incomplete
from receiver.core.delivery import Delivery
from receiver.core.jobs import Done, Job, JobQueue, JobResult, RunAgain
from receiver.flow.pipeline import Pipeline
from receiver.foundation import metrics, tracing
from receiver.foundation.backoff import next_due, next_interval
from receiver.foundation.errors import Quarantine, RemoteError, StoreUnavailable
from receiver.foundation.logs import logger
from receiver.foundation.settings import not_null
from receiver.providers import PROVIDERS
from receiver.sources import SourceConfig
from schemas.event import TERMINAL_STATUSES, CanonicalEvent, Error, Status, TaskType
from schemas.normalizing import DeliveryContext, build_event

POLL = "poll"
DEADLINE_EXCEEDED = "deadline_exceeded"
NOT_FOUND = "not_found"
DEADLINE = "the watch's deadline passed"
WatchPhase = Literal["waiting", "reconciling", "overdue"]
# Polls slow down by half each time: quick for short tasks, gentle on long ones.
POLL_FACTOR = 1.5
# Each wait is lengthened by up to a tenth, at random: tasks watched together (a batch submitted at
# once) drift apart instead of coming due in the same millisecond at every interval.
POLL_JITTER = 0.1


class WatchRequest(BaseModel):
    """The body of `POST /v1/sources/{source_id}/tasks`."""

    model_config = ConfigDict(extra="forbid")

    # Slashes are allowed (Gemini's operation names have them), `.` and `..` segments are not.
    task_id: str = Field(pattern=r"^[A-Za-z0-9_.:-][A-Za-z0-9_.:/-]{0,255}$")
    # For a provider with several kinds of task (TwelveLabs): which one; without it, each is tried.
    # The document forbids null: "try each kind" is asked for by leaving `task_type` out.
    task_type: Annotated[
        TaskType | None, not_null("null is not a kind of task: leave task_type out to try each kind")
    ] = None

    @field_validator("task_id")
    @classmethod
    def _no_dot_segments(cls, task_id: str) -> str:
        if any(segment in (".", "..", "") for segment in task_id.split("/")):
            raise ValueError("a task id has no empty, '.' or '..' path segments")
        return task_id


class PollJob(BaseModel):
    """A watched task, as its poll job stores it between runs."""

    model_config = ConfigDict(extra="forbid")

    source: str
    task_id: str
    registered_at: float
    # The wait after the next poll; grows by POLL_FACTOR up to the source's max_interval_seconds.
    interval: float
    # None: not known yet, the task is looked for at each of the provider's task routes.
    task_type: TaskType | None
    # Polls made so far (a run that found no budget turn is none).
    attempts: int = 0
    # A callback source's task whose callbacks did not bring a final status in time: polled.
    reconciling: bool = False
    # The last status published, and what the provider said of the task besides.
    status: Status | None = None
    model: str | None = None
    last_error: str | None = None
    # The HTTP status of the last failed poll: a task the API still does not know at the deadline
    # ends `not_found`.
    last_status: int | None = None
    # The detail of the last poll kept in the dead-letter stream: the same problem is kept once.
    quarantined: str | None = None
    # The trace (W3C `traceparent`) of the callback that started the watch, when tracing is on.
    traceparent: str | None = None


def poll_job_id(source_id: str, task_id: str) -> str:
    return f"poll:{source_id}:{task_id}"


def unwatchable(source: SourceConfig) -> str | None:
    """Why the receiver cannot watch this source's tasks, or None when it can."""
    return PROVIDERS[source.provider].unwatchable(source)


def watches_on_callback(source: SourceConfig) -> bool:
    """Whether a non-final callback of this source starts its task's watch by itself."""
    if source.watch_on_callback is False:
        return False
    return unwatchable(source) is None


def watch_type_problem(source: SourceConfig, task_type: TaskType | None) -> str | None:
    """Why a watch of this source cannot name `task_type`, or None when it can."""
    kinds = PROVIDERS[source.provider].schemas.task_types
    if task_type is None or task_type in kinds:
        return None
    return f"provider {source.provider!r} has no {task_type!r} tasks (it has: {', '.join(kinds)})"


async def watch(
    queue: JobQueue,
    source: SourceConfig,
    task_id: str,
    now: float,
    *,
    at_once: bool = False,
    task_type: TaskType | None = None,
) -> bool:
    """Register a watched task; False when it is already watched. Raises `RedisUnavailable`.

    `at_once`: polled now even on a callback source (an incomplete event's task, whose callbacks
    have nothing more to bring). `task_type`: its kind, for a provider with several (see
    `watch_type_problem`); without it a provider's only kind, or each of its kinds in turn."""
    kinds = PROVIDERS[source.provider].schemas.task_types
    if task_type is None and len(kinds) == 1:
        task_type = kinds[0]
    job = PollJob(
        source=source.id,
        task_id=task_id,
        registered_at=now,
        interval=source.poll_interval_seconds,
        task_type=task_type,
        traceparent=tracing.traceparent() or None,
    )
    # A callback source's task is first left to its callbacks.
    left_to_callbacks = PROVIDERS[source.provider].callbacks is not None and not at_once
    first = now + source.reconcile_after_seconds if left_to_callbacks else now
    job_id = poll_job_id(source.id, task_id)
    created = await queue.enqueue(
        job_id,
        POLL,
        job.model_dump(mode="json"),
        first,
        source=source.id,
        deadline=now + source.deadline_seconds,
    )
    if at_once and not created:
        await queue.hasten(job_id, now)
    logger.info("poll.watch", source=source.id, task_id=task_id, created=created)
    return created


class CallbackWatcher:
    """Starts the watch of a task whose callback brought a non-final status (`watch_on_callback`), so
    that a lost final callback is reconciled without anyone calling the watch route; and of a task
    whose event is incomplete, wherever the source can be polled, so that its complete result
    supersedes it (receiver/core/decision.py)."""

    def __init__(self, config: Config, queue: JobQueue) -> None:
        self._queue = queue
        # Decided once (the config is frozen): this runs for every accepted event. A poll-only
        # source's events come from its watches, so it starts none for a non-final status.
        # PERF: decided once, not per event (bench/README.md, index: bench.ab).
        self._pollable = {source.id: source for source in config.sources if unwatchable(source) is None}
        self._sources = {
            source.id: source
            for source in self._pollable.values()
            if watches_on_callback(source) and PROVIDERS[source.provider].callbacks is not None
        }

    async def __call__(self, event: CanonicalEvent) -> None:
        if incomplete(event) and (pollable := self._pollable.get(event.source)) is not None:
            await watch(self._queue, pollable, event.task_id, time.time(), at_once=True)
            return
        source = self._sources.get(event.source)
        if source is None or event.status in TERMINAL_STATUSES:
            return
        await watch(self._queue, source, event.task_id, time.time())


def watch_phase(job: Job, config: Config, now: float) -> WatchPhase | None:
    """`waiting` for callbacks, `reconciling` (polled after a lost callback, or poll-only), `overdue`
    (past the deadline, about to end as failed); None when the job's source is no longer configured.

    The three fields are read straight from the payload: validating a PollJob would triple the time of
    a pass over every watch (2 us a job, a fifth of a second per process at 100,000 watches).
    """
    payload = job.payload
    source = config.source(payload["source"])
    if source is None:
        return None
    if now >= payload["registered_at"] + source.deadline_seconds:
        return "overdue"
    if payload.get("reconciling") or PROVIDERS[source.provider].callbacks is None:
        return "reconciling"
    return "waiting"


async def refresh_watched_gauge(queue: JobQueue, config: Config) -> None:
    """Set `videohooks_watched_tasks{source, state}` from the jobs in Redis, which every process shares."""
    now = time.time()
    counts: Counter[tuple[str, str]] = Counter()
    async for job in queue.scan(POLL):
        state = watch_phase(job, config, now)
        if state is not None:
            counts[(job.payload["source"], state)] += 1
    for source in config.sources:
        if unwatchable(source) is None:
            for name in ("waiting", "reconciling", "overdue"):
                metrics.child(metrics.WATCHED_TASKS, source.id, name).set(counts[(source.id, name)])


class Poller:
    """The `poll` job handler."""

    def __init__(self, config: Config, pipeline: Pipeline, clients: ClientPool, budget: ApiBudget) -> None:
        self._config = config
        self._pipeline = pipeline
        self._publisher = pipeline.publisher
        self._clients = clients
        self._budget = budget

    async def __call__(self, job: Job) -> JobResult:
        state = PollJob.model_validate(job.payload)
        source = self._config.source(state.source)
        if source is None:
            # Claimed only past its deadline: no process that has the source took it in time.
            logger.error("poll.unknown_source", source=state.source, task_id=state.task_id)
            return Done()
        now = time.time()
        if PROVIDERS[source.provider].callbacks is not None:
            if await self._publisher.final_published(source.id, state.task_id):
                return Done()  # its callbacks brought the final status: nothing to reconcile
            state.reconciling = True
        deadline = state.registered_at + source.deadline_seconds
        turn = await self._budget.reserve_for(source)
        if turn and now + turn < deadline:
            return RunAgain(now + turn, state.model_dump(mode="json"))
        if turn:  # no turn before the deadline (the source is paused): the deadline is kept all the same
            await self._pipeline.release(self._deadline_event(source, state, datetime.now(UTC)), DEADLINE)
            return Done()
        state.attempts += 1
        received_at = datetime.now(UTC)
        retry_after = None
        try:
            body = await get_task(self._clients.get(source), state.task_id, state.task_type)
            delivery = Delivery(source, body, "resource", "api", received_at)
            event = await self._pipeline.prepare(delivery)
        except (RemoteError, StoreUnavailable) as exc:
            metrics.child(metrics.POLL_FAILURES, source.id).inc()
            logger.info("poll.failed", source=source.id, task_id=state.task_id, error=str(exc))
            remote = exc if isinstance(exc, RemoteError) else None
            state.last_error = str(exc)
            state.last_status = None if remote is None else remote.status
            retry_after = None if remote is None else remote.retry_after
            if remote is not None and self._clients.key_rejected(source, remote):
                # An operator has to fix the key: every task of the source is asked slowly meanwhile.
                retry_after = max(retry_after or 0.0, source.max_interval_seconds)
            if retry_after:
                await self._budget.pause(source, retry_after)
        except Quarantine as quarantine:
            # Kept once per distinct problem, not once per poll: the task is still polled, as its next
            # status may well be one the schemas know.
            if state.quarantined != quarantine.detail:
                await self._pipeline.keep(delivery, quarantine)
                state.quarantined = quarantine.detail
        else:
            state.last_status = None
            if event.status != state.status:
                why = "reconciled: polled after its callbacks" if state.reconciling else "polled"
                outcome = await self._pipeline.release(event, why)
                if state.reconciling and outcome.status == "accepted":
                    # A status no callback brought: what reconciliation is for.
                    metrics.child(metrics.RECONCILED, source.id).inc()
                state.status, state.task_type, state.model = event.status, event.task_type, event.model
            if event.status in TERMINAL_STATUSES:
                return Done()
        if now >= deadline:
            await self._pipeline.release(self._deadline_event(source, state, received_at), DEADLINE)
            return Done()
        interval = state.interval
        state.interval = next_interval(interval, POLL_FACTOR, source.max_interval_seconds)
        wait = interval * (1 + random.random() * POLL_JITTER)
        return RunAgain(next_due(now, wait, retry_after, deadline), state.model_dump(mode="json"))

    @staticmethod
    def _deadline_event(source: SourceConfig, state: PollJob, received_at: datetime) -> CanonicalEvent:
        message = (
            f"no final status within {source.deadline_seconds:g} s of the watch's start "
            f"(last status seen: {state.status or 'none'}"
            + (f"; last error: {state.last_error}" if state.last_error else "")
            + ")"
        )
        ctx = DeliveryContext(source.id, source.provider, received_at, api_base_url=source.api_base_url)
        return build_event(
            ctx,
            task_id=state.task_id,
            # Never seen: the provider's first kind of task is the best guess.
            task_type=state.task_type or PROVIDERS[source.provider].schemas.task_types[0],
            status="failed",
            model=state.model,
            error=Error(code=NOT_FOUND if state.last_status == 404 else DEADLINE_EXCEEDED, message=message),
        )
