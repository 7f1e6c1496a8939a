"""A task as the receiver knows it: `GET /v1/sources/{source_id}/tasks/{task_id}`, `videohooks task`.

Nothing is stored for it: the record is read from what publishing and watching already keep in Redis.
  - the task's hash (written by `publish.lua`, kept for the dedupe TTL): each status published ->
    its entry id in the events stream (`~rank` and `~d:<delivery>` markers are not statuses);
  - each of those stream entries, for the event's `event_id` (null once the stream was trimmed past
    it); the entry id's milliseconds are when it was published;
  - the task's poll job, if it is watched: its payload (`registered_at`, `attempts`, `last_error`,
    `reconciling`) and its due time in the job queue.

`assemble` builds the record from those values without I/O; `read_task` does the reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from receiver.core.jobs import Job, JobQueue
from receiver.flow.poll import poll_job_id
from receiver.foundation.errors import redis_errors
from receiver.foundation.keys import AnyRedis, KeySpace, as_text, entry_id_order
from schemas.event import TERMINAL_STATUSES, rfc3339


@dataclass(frozen=True, slots=True)
class PublishedStatus:
    status: str
    event_id: str | None
    entry_id: str
    published_at: str


@dataclass(frozen=True, slots=True)
class WatchState:
    since: str
    next_poll_at: str | None
    attempts: int
    last_error: str | None
    reconciling: bool


@dataclass(frozen=True, slots=True)
class TaskRecord:
    source: str
    task_id: str
    statuses: list[PublishedStatus]
    final: bool
    watch: WatchState | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _moment(unix_seconds: float) -> str:
    return rfc3339(datetime.fromtimestamp(unix_seconds, UTC))


def published_at(entry_id: str) -> str:
    """When a stream entry was added: its id's milliseconds of the Redis server's clock."""
    millis, _ = entry_id_order(entry_id)
    return _moment(millis / 1000)


def published_statuses(marks: Mapping[str, str]) -> dict[str, str]:
    """The statuses in a task's hash, each with its stream entry id, in the order they were published."""
    found = [(field, entry_id) for field, entry_id in marks.items() if not field.startswith("~")]
    return dict(sorted(found, key=lambda item: entry_id_order(item[1])))


def watch_state(job: Job, due: float | None) -> WatchState:
    payload = job.payload
    return WatchState(
        since=_moment(float(payload["registered_at"])),
        next_poll_at=None if due is None else _moment(due),
        attempts=int(payload.get("attempts", 0)),
        last_error=payload.get("last_error"),
        reconciling=bool(payload.get("reconciling", False)),
    )


def assemble(
    source: str,
    task_id: str,
    marks: Mapping[str, str],
    event_ids: Mapping[str, str],
    job: Job | None,
    due: float | None,
) -> TaskRecord | None:
    """The record from the task's hash (`marks`), its entries' event ids (by entry id) and its watch
    job with the job's due time; None when none of them knows the task."""
    statuses = [
        PublishedStatus(status, event_ids.get(entry_id), entry_id, published_at(entry_id))
        for status, entry_id in published_statuses(marks).items()
    ]
    if not statuses and job is None:
        return None
    return TaskRecord(
        source=source,
        task_id=task_id,
        statuses=statuses,
        final=any(item.status in TERMINAL_STATUSES for item in statuses),
        watch=None if job is None else watch_state(job, due),
    )


async def read_task(
    redis: AnyRedis, keys: KeySpace, queue: JobQueue, source: str, task_id: str
) -> TaskRecord | None:
    """The task's record from Redis, or None when nothing is known of it. Raises `RedisUnavailable`."""
    partition = keys.partition(source, task_id)
    job_id = poll_job_id(source, task_id)
    with redis_errors("the task read"):
        raw = await redis.hgetall(keys.task(partition, source, task_id))
        marks = {as_text(field): as_text(value) for field, value in raw.items()}
        event_ids = await _event_ids(redis, keys.events(partition), published_statuses(marks).values())
        job = await queue.get(job_id)
        due = None if job is None else await queue.due(job_id)
    return assemble(source, task_id, marks, event_ids, job, due)


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
