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
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from receiver.foundation import tracing
from receiver.foundation.errors import RedisUnavailable
from receiver.foundation.keys import AnyRedis, as_text
from receiver.foundation.logs import logger

_CLAIM = """
local now, limit, filtered = tonumber(ARGV[1]), tonumber(ARGV[3]), ARGV[4] == '1'
local known = {}
for i = 5, #ARGV do known[ARGV[i]] = true end
-- Jobs of other processes' sources are stepped over, up to this many: a bound on one call's work.
local MAX_SKIPPED = 2000
local claimed, taken, offset = {}, 0, 0
while taken < limit and offset < MAX_SKIPPED do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', offset, limit - taken)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local data = redis.call('HGET', KEYS[2], id)
    if not data then
      redis.call('ZREM', KEYS[1], id)
    else
      local mine = not filtered
      if filtered then
        local record = cjson.decode(data)
        local source, deadline = record['source'], record['deadline']
        mine = source == nil or source == cjson.null or known[source]
          or (deadline ~= nil and deadline ~= cjson.null and now >= deadline * 1000)
      end
      if mine then
        redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
        table.insert(claimed, id)
        table.insert(claimed, data)
        taken = taken + 1
      else
        offset = offset + 1  -- left due for a process that has its source
      end
    end
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
    # The source the job works for: only a process that has it claims the job, until `deadline`
    # (unix seconds), after which any process may, to end it. None: any process.
    source: str | None = None
    deadline: float | None = None

    def record(self, payload: Mapping[str, Any] | None = None) -> bytes:
        """The job as stored, with `payload` in place of its own if given."""
        record: dict[str, Any] = {"kind": self.kind, "payload": payload or self.payload}
        if self.source is not None:
            record |= {"source": self.source, "deadline": self.deadline}
        return orjson.dumps(record)


def _job(job_id: str, raw: bytes | str) -> Job:
    record = orjson.loads(raw)
    return Job(job_id, record["kind"], record["payload"], record.get("source"), record.get("deadline"))


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
        self,
        job_id: str,
        kind: str,
        payload: Mapping[str, Any],
        due: float | None = None,
        *,
        source: str | None = None,
        deadline: float | None = None,
    ) -> bool:
        """Record a job durably; False when a job with this id is already queued (nothing changes).

        A job with a `source` is claimed only by a process whose config has it (`claim`), or by any
        once its `deadline` has passed: only the deadline ends a job no process can do."""
        data = Job(job_id, kind, dict(payload), source, deadline).record()
        created = await self._enqueue(
            keys=[self._due, self._data], args=[job_id, data, _ms(due or time.time())]
        )
        return bool(created)

    async def claim(
        self, now: float, lease_seconds: float, limit: int, sources: Collection[str] | None = None
    ) -> list[Job]:
        """Take up to `limit` due jobs, oldest due first, leased until `now + lease_seconds`.

        With `sources`, a job of another source is left due, unleased, for a process that has it
        (as during a rolling deploy that adds a source), unless its deadline has passed."""
        filtering = [] if sources is None else ["1", *sorted(sources)]
        flat = await self._claim(
            keys=[self._due, self._data],
            args=[_ms(now), _ms(now + lease_seconds), limit, *(filtering or ["0"])],
        )
        return [_job(as_text(flat[index]), flat[index + 1]) for index in range(0, len(flat), 2)]

    async def hasten(self, job_id: str, due: float) -> None:
        """Bring a queued job's next run forward to `due` (never later than it is)."""
        await self._redis.zadd(self._due, {job_id: _ms(due)}, xx=True, lt=True)

    async def reschedule(self, job: Job, result: RunAgain) -> None:
        data = job.record(result.payload)
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
        return (await self.get_many([job_id]))[0]

    async def get_many(self, job_ids: Sequence[str]) -> list[Job | None]:
        """Each job (None where there is none), in one round trip."""
        raws = await self._redis.hmget(self._data, job_ids)
        return [None if raw is None else _job(job_id, raw) for job_id, raw in zip(job_ids, raws, strict=True)]

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
            job = _job(as_text(raw_id), raw)
            if job.kind == kind:
                yield job

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
        sources: Collection[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
        # The sources this process has: it claims only their jobs (None: every job).
        self._sources = None if sources is None else frozenset(sources)
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
            except RedisUnavailable as exc:
                logger.warning("jobs.lease_not_extended", job_id=job.id, error=str(exc))

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                jobs = await self._queue.claim(self._clock(), self._lease, self._concurrency, self._sources)
            except RedisUnavailable as exc:
                logger.warning("jobs.claim_failed", error=str(exc))
                jobs = []
            if jobs:
                await asyncio.gather(*(self._run_one(job) for job in jobs))
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._idle)

    async def run_due(self) -> int:
        """Run every job due now, once; for tests and the CLI's one-shot commands."""
        jobs = await self._queue.claim(self._clock(), self._lease, 1_000_000, self._sources)
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
        except RedisUnavailable as exc:
            logger.warning("jobs.update_failed", job_id=job.id, error=str(exc))
