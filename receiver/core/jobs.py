"""A durable queue of scheduled jobs in Redis: fetch-on-notify and polling run from it.

Work that must not hold a callback's answer (fetching a thin webhook's result, polling a task) is
recorded here first and done later, by whichever receiver process claims it. A job is a JSON payload
under an id, due at a time. Claiming a job leases it (pushes its due time forward by the lease), so
a process that dies mid-job loses nothing: the job comes due again when the lease runs out. Handlers
must therefore be idempotent, which publishing is (dedupe on (source, task, status)).

Keys (one hash slot on a cluster, via the `{jobs}` tag):
  <prefix>:{jobs}:due   sorted set, member job id, score due time in ms
  <prefix>:{jobs}:data  hash, job id -> JSON payload
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from receiver.foundation import tracing
from receiver.foundation.errors import REDIS_FAILURES
from receiver.foundation.keys import AnyRedis, as_text
from receiver.foundation.logs import logger

_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
  local data = redis.call('HGET', KEYS[2], id)
  if data then
    table.insert(claimed, id)
    table.insert(claimed, data)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return claimed
"""

_ENQUEUE = """
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Done:
    """The job is finished: remove it."""


@dataclass(frozen=True, slots=True)
class RunAgain:
    """Run the job again at `due` (unix seconds), with `payload` replacing the stored one."""

    due: float
    payload: dict[str, Any] = field(default_factory=dict)


JobResult = Done | RunAgain
Handler = Callable[[Job], Awaitable[JobResult]]


# Fields of the job hash read per HSCAN round trip: small enough that handling one page (about a
# microsecond a job) holds the event loop, and the callbacks behind it, for well under a millisecond.
SCAN_PAGE = 200


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class JobQueue:
    def __init__(self, redis: AnyRedis, prefix: str) -> None:
        self._redis = redis
        self._due = f"{prefix}:{{jobs}}:due"
        self._data = f"{prefix}:{{jobs}}:data"
        self._claim = redis.register_script(_CLAIM)
        self._enqueue = redis.register_script(_ENQUEUE)

    async def enqueue(
        self, job_id: str, kind: str, payload: Mapping[str, Any], due: float | None = None
    ) -> bool:
        """Record a job durably; False when a job with this id is already queued (nothing changes)."""
        data = orjson.dumps({"kind": kind, "payload": payload})
        created = await self._enqueue(
            keys=[self._due, self._data], args=[job_id, data, _ms(due or time.time())]
        )
        return bool(created)

    async def claim(self, now: float, lease_seconds: float, limit: int) -> list[Job]:
        """Take up to `limit` due jobs, oldest due first, leased until `now + lease_seconds`."""
        flat = await self._claim(
            keys=[self._due, self._data], args=[_ms(now), _ms(now + lease_seconds), limit]
        )
        jobs = []
        for index in range(0, len(flat), 2):
            job_id = as_text(flat[index])
            record = orjson.loads(flat[index + 1])
            jobs.append(Job(job_id, record["kind"], record["payload"]))
        return jobs

    async def reschedule(self, job: Job, result: RunAgain) -> None:
        data = orjson.dumps({"kind": job.kind, "payload": result.payload or job.payload})
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._data, job.id, data)
            pipe.zadd(self._due, {job.id: _ms(result.due)}, xx=True)
            await pipe.execute()

    async def complete(self, job: Job) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._due, job.id)
            pipe.hdel(self._data, job.id)
            await pipe.execute()

    async def get(self, job_id: str) -> Job | None:
        raw = await self._redis.hget(self._data, job_id)
        if raw is None:
            return None
        record = orjson.loads(raw)
        return Job(job_id, record["kind"], record["payload"])

    async def due(self, job_id: str) -> float | None:
        """When the job runs next (unix seconds; a leased job: when its lease ends), or None."""
        score = await self._redis.zscore(self._due, job_id)
        return None if score is None else float(score) / 1000

    async def extend(self, job: Job, until: float) -> None:
        """Push a running job's lease to `until` (ZADD XX: a job completed meanwhile is not brought
        back; the runner stops extending before it completes or reschedules the job)."""
        await self._redis.zadd(self._due, {job.id: _ms(until)}, xx=True)

    async def next_due(self) -> float | None:
        """When the earliest job runs (unix seconds), or None when there is none."""
        first = await self._redis.zrange(self._due, 0, 0, withscores=True)
        return float(first[0][1]) / 1000 if first else None

    async def scan(self, kind: str) -> AsyncIterator[Job]:
        """Every job of `kind`, due or leased, one at a time: for gauges and operators, not hot paths.

        Read with HSCAN, a page at a time: with a hundred thousand watched tasks one HGETALL would
        hold Redis (and every publish waiting behind it) for the whole hash, and a list of them all
        would grow the process by about a kilobyte per task (measured by `bench.watch_load`).
        """
        async for raw_id, raw in self._redis.hscan_iter(self._data, count=SCAN_PAGE):
            record = orjson.loads(raw)
            if record["kind"] == kind:
                yield Job(as_text(raw_id), kind, record["payload"])

    async def jobs(self, kind: str) -> list[Job]:
        """Every job of `kind` in one list: for a page that shows them, not for counting."""
        return [job async for job in self.scan(kind)]

    async def count(self, kind: str | None = None) -> int:
        if kind is None:
            return int(await self._redis.hlen(self._data))
        found = 0
        async for _ in self.scan(kind):
            found += 1
        return found


class JobRunner:
    """Claims due jobs and runs each kind's handler, until stopped; a crashed handler retries later."""

    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        *,
        lease_seconds: float = 60.0,
        idle_seconds: float = 0.25,
        concurrency: int = 16,
        error_backoff_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
        # When a job is due, its lease runs out and a crashed one comes back; a test moves it.
        self._clock = clock
        self._handlers = dict(handlers)
        self._lease = lease_seconds
        self._idle = idle_seconds
        self._concurrency = concurrency
        self._error_backoff = error_backoff_seconds
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def _keep_leased(self, job: Job, done: asyncio.Event) -> None:
        """While a job runs longer than a third of its lease (a large copy), push the lease on, so that
        no other process takes the job and does the same work again; a process that dies stops
        pushing, and the job comes back when its lease runs out. Stopped by `done`, never cancelled (a
        cancel inside a redis-py command can leave its connection hanging)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self._lease / 3)
            if done.is_set():
                return
            try:
                await self._queue.extend(job, self._clock() + self._lease)
            except REDIS_FAILURES as exc:
                logger.warning("jobs.lease_not_extended", job_id=job.id, error=exc.__class__.__name__)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                jobs = await self._queue.claim(self._clock(), self._lease, self._concurrency)
            except REDIS_FAILURES as exc:
                logger.warning("jobs.claim_failed", error=exc.__class__.__name__)
                jobs = []
            if jobs:
                await asyncio.gather(*(self._run_one(job) for job in jobs))
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._idle)

    async def run_due(self) -> int:
        """Run every job due now, once; for tests and the CLI's one-shot commands."""
        jobs = await self._queue.claim(self._clock(), self._lease, 1_000_000)
        await asyncio.gather(*(self._run_one(job) for job in jobs))
        return len(jobs)

    async def _run_one(self, job: Job) -> None:
        handler = self._handlers.get(job.kind)
        if handler is None:
            logger.error("jobs.unknown_kind", job_id=job.id, kind=job.kind)
            return  # left leased: a process that knows the kind will take it
        done = asyncio.Event()
        heartbeat = asyncio.create_task(self._keep_leased(job, done))
        try:
            with tracing.job(job):
                result = await handler(job)
        except Exception as exc:  # a handler bug must not stop the runner; the lease brings the job back
            logger.exception(
                "jobs.handler_failed", job_id=job.id, kind=job.kind, error=exc.__class__.__name__
            )
            result = RunAgain(self._clock() + self._error_backoff)
        finally:
            done.set()
            await heartbeat
        try:
            if isinstance(result, Done):
                await self._queue.complete(job)
            else:
                await self._queue.reschedule(job, result)
        except REDIS_FAILURES as exc:
            logger.warning("jobs.update_failed", job_id=job.id, error=exc.__class__.__name__)
