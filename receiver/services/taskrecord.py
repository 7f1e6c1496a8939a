"""A task as the receiver knows it: `GET /v1/sources/{source_id}/tasks/{task_id}`, `videohooks task`.

Nothing is stored for it: the record is read from what publishing and watching already keep in Redis.
  - the task's hash (written by `publish.lua`, kept for the dedupe TTL): each status published ->
    its entry id in the events stream (`~rank` and `~d:<delivery>` markers are not statuses), the
    entry of an incomplete event a complete one superseded (`~x:<status>`), whether a status is
    still held by an incomplete event (`~i:<status>`), and why each entry was published
    (`~why:<entry id>`, the decision of receiver/core/decision.py);
  - each of those stream entries, for the event's `event_id` (null once the stream was trimmed past
    it); the entry id's milliseconds are when it was published;
  - the task's poll job, if it is watched: its payload (`registered_at`, `attempts`, `last_error`,
    `reconciling`) and its due time in the job queue;
  - the copy and fetch jobs of its events (ids from `event_id_for(source, task, status)`, one per
    status): an event accepted and decoded but not published yet is `held` there, waiting for its
    assets' copy or for the provider's API, and must show somewhere until it is published.

`assemble` builds the record from those values without I/O; `read_task` does the reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from receiver.assets.copier import COPY, CopyPayload, copy_job_id
from receiver.core.jobs import Job, JobQueue
from receiver.flow.fetch import FETCH, FetchJob, fetch_job_id
from receiver.flow.poll import poll_job_id
from receiver.foundation.keys import AnyRedis, KeySpace, as_text, entry_id_order
from schemas.event import (
    STATUS_RANK,
    TERMINAL_STATUSES,
    CanonicalEvent,
    event_from_json,
    event_id_for,
    rfc3339,
)


@dataclass(frozen=True, slots=True)
class PublishedStatus:
    status: str
    event_id: str | None
    entry_id: str
    published_at: str
    # Why it was published (how the receiver learned it, and the rule that decided).
    decision: str | None = None
    # An incomplete event (fetch failed, asset errors, truncated) not superseded (yet).
    incomplete: bool = False
    # The event id of the complete event that superseded this incomplete one.
    superseded_by: str | None = None


@dataclass(frozen=True, slots=True)
class WatchState:
    since: str
    next_poll_at: str | None
    attempts: int
    last_error: str | None
    reconciling: bool


@dataclass(frozen=True, slots=True)
class AssetFailure:
    """The last failure of one asset's copy; `final`: given up, the event goes out without its copy."""

    index: int
    code: str
    message: str
    final: bool


@dataclass(frozen=True, slots=True)
class HeldEvent:
    """An accepted event not yet published: `reason` `asset_copy` (its assets are being copied) or
    `fetch` (the provider's API is asked for the task), since when and until when at the latest."""

    status: str
    reason: str
    since: str
    until: str
    asset_errors: list[AssetFailure]


ASSET_COPY = "asset_copy"
FETCH_REASON = "fetch"


@dataclass(frozen=True, slots=True)
class TaskRecord:
    source: str
    task_id: str
    statuses: list[PublishedStatus]
    # A terminal status is published and nothing else of the task waits to be.
    final: bool
    watch: WatchState | None
    held: list[HeldEvent]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _moment(unix_seconds: float) -> str:
    return rfc3339(datetime.fromtimestamp(unix_seconds, UTC))


def published_at(entry_id: str) -> str:
    """When a stream entry was added: its id's milliseconds of the Redis server's clock."""
    millis, _ = entry_id_order(entry_id)
    return _moment(millis / 1000)


SUPERSEDED = "~x:"


def published_statuses(marks: Mapping[str, str]) -> dict[str, str]:
    """The statuses in a task's hash, each with its stream entry id, in the order they were published."""
    found = [(field, entry_id) for field, entry_id in marks.items() if not field.startswith("~")]
    return dict(sorted(found, key=lambda item: entry_id_order(item[1])))


def published_entries(marks: Mapping[str, str]) -> list[tuple[str, str, str | None]]:
    """Every event of the task in the stream, in the order published: (status, entry id, and for an
    incomplete event since superseded, the entry id of the event that superseded it)."""
    current = published_statuses(marks)
    found: list[tuple[str, str, str | None]] = [
        (status, entry_id, None) for status, entry_id in current.items()
    ]
    found += [
        (field.removeprefix(SUPERSEDED), entry_id, current.get(field.removeprefix(SUPERSEDED)))
        for field, entry_id in marks.items()
        if field.startswith(SUPERSEDED) and entry_id
    ]
    return sorted(found, key=lambda item: entry_id_order(item[1]))


def watch_state(job: Job, due: float | None) -> WatchState:
    payload = job.payload
    return WatchState(
        since=_moment(float(payload["registered_at"])),
        next_poll_at=None if due is None else _moment(due),
        attempts=int(payload.get("attempts", 0)),
        last_error=payload.get("last_error"),
        reconciling=bool(payload.get("reconciling", False)),
    )


def held_event(
    job: Job, fetch_deadline_seconds: Callable[[str], float]
) -> tuple[CanonicalEvent, HeldEvent] | None:
    """The event a copy or fetch job holds back (for a fetch: the callback's notice), and what the
    record says of it; None for a job of another kind. `fetch_deadline_seconds`: a source's, by id."""
    if job.kind == COPY:
        copy = CopyPayload.model_validate(job.payload)
        event = event_from_json(copy.event)
        failures = [
            AssetFailure(index, failure.code, failure.message, failure.final)
            for index, failure in sorted(copy.failures.items())
        ]
        return event, HeldEvent(
            event.status, ASSET_COPY, _moment(copy.ready_at), _moment(copy.deadline), failures
        )
    if job.kind == FETCH:
        notice = event_from_json(FetchJob.model_validate(job.payload).notice)
        since = notice.received_at.timestamp()
        until = since + fetch_deadline_seconds(notice.source)
        return notice, HeldEvent(notice.status, FETCH_REASON, _moment(since), _moment(until), [])
    return None


async def read_held(
    queue: JobQueue, source: str, task_id: str, fetch_deadline_seconds: float
) -> list[tuple[CanonicalEvent, HeldEvent]]:
    """The task's held events, oldest first, in one round trip: every copy and fetch job id its
    events could have (one of each per status) is asked for."""
    event_ids = [event_id_for(source, task_id, status) for status in STATUS_RANK]
    job_ids = [job_id(event_id) for event_id in event_ids for job_id in (copy_job_id, fetch_job_id)]
    jobs = [job for job in await queue.get_many(job_ids) if job is not None]
    found = [held_event(job, lambda _source: fetch_deadline_seconds) for job in jobs]
    return sorted((pair for pair in found if pair is not None), key=lambda pair: pair[1].since)


def assemble(
    source: str,
    task_id: str,
    marks: Mapping[str, str],
    event_ids: Mapping[str, str],
    job: Job | None,
    due: float | None,
    held: Sequence[HeldEvent] = (),
) -> TaskRecord | None:
    """The record from the task's hash (`marks`), its entries' event ids (by entry id), its watch
    job with the job's due time and its `held` events; None when none of them knows the task."""
    statuses = [
        PublishedStatus(
            status,
            event_ids.get(entry_id),
            entry_id,
            published_at(entry_id),
            decision=marks.get(f"~why:{entry_id}"),
            incomplete=successor is None and f"~i:{status}" in marks,
            superseded_by=None if successor is None else event_ids.get(successor),
        )
        for status, entry_id, successor in published_entries(marks)
    ]
    if not statuses and job is None and not held:
        return None
    return TaskRecord(
        source=source,
        task_id=task_id,
        statuses=statuses,
        final=any(item.status in TERMINAL_STATUSES for item in statuses) and not held,
        watch=None if job is None else watch_state(job, due),
        held=list(held),
    )


async def read_task(
    redis: AnyRedis,
    keys: KeySpace,
    queue: JobQueue,
    source: str,
    task_id: str,
    *,
    fetch_deadline_seconds: float,
    held: Sequence[tuple[CanonicalEvent, HeldEvent]] | None = None,
) -> TaskRecord | None:
    """The task's record from Redis, or None when nothing is known of it. Raises `RedisUnavailable`.

    `fetch_deadline_seconds`: the source's, which bounds how long a fetch holds its event back;
    `held`: the task's held events when the caller has read them already (`read_held`)."""
    partition = keys.partition(source, task_id)
    job_id = poll_job_id(source, task_id)
    raw = await redis.hgetall(keys.task(partition, source, task_id))
    marks = {as_text(field): as_text(value) for field, value in raw.items()}
    entries = {entry_id for _, entry_id, _ in published_entries(marks)}
    event_ids = await _event_ids(redis, keys.events(partition), entries)
    job = await queue.get(job_id)
    due = None if job is None else await queue.due(job_id)
    if held is None:
        held = await read_held(queue, source, task_id, fetch_deadline_seconds)
    return assemble(source, task_id, marks, event_ids, job, due, [item for _, item in held])


async def read_entries(
    redis: AnyRedis, stream: str, entry_ids: Iterable[str]
) -> dict[str, dict[bytes, bytes]]:
    """Each entry's fields, by entry id, in one round trip; entries trimmed away are left out."""
    wanted = list(entry_ids)
    if not wanted:
        return {}
    async with redis.pipeline(transaction=False) as pipe:
        for entry_id in wanted:
            pipe.xrange(stream, min=entry_id, max=entry_id, count=1)
        replies = await pipe.execute()
    return {as_text(entry_id): fields for entries in replies for entry_id, fields in entries}


async def _event_ids(redis: AnyRedis, stream: str, entry_ids: Iterable[str]) -> dict[str, str]:
    """Each entry's `event_id`, by entry id (the receiver's clients answer bytes)."""
    entries = await read_entries(redis, stream, entry_ids)
    return {
        entry_id: as_text(fields[b"event_id"])
        for entry_id, fields in entries.items()
        if b"event_id" in fields
    }
