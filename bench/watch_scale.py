"""Scheduling at scale: what 100,000 watched tasks cost the job queue in Redis.

`python -m bench.watch_scale [--tasks N] [--due N]`, against `REDIS_URL` like the rest of the bench
(keys under `bench-<random>-watch-*`, deleted at the end, also on error or Ctrl-C). For each queue
size (1,000, 10,000, then `--tasks`) it enqueues that many `poll` jobs the way `videohooks watch`
does (same script, same payload), pipelined, with `--due` of them due now and the rest spread over
the hour after the next minute (jitter); then it claims the due ones as the job runner does (16 at a
time, leased) and times each claim, and reads how much memory the queue's two keys take. A claim is
a ZRANGEBYSCORE with a LIMIT, O(log n + k): its time should not grow with the queue.

Also timed: `JobQueue.jobs("poll")`, which the watched-tasks gauge reads, and which is O(n).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from redis.asyncio import Redis

from bench.redis_keys import delete_prefix
from bench.settings import redis_url
from receiver.core.jobs import JobQueue
from receiver.flow.poll import POLL, PollJob, poll_job_id

SOURCE = "bench-relay"
CLAIM_BATCH = 16  # JobRunner's default concurrency: what one runner claims at a time
LEASE_SECONDS = 60.0
PIPELINE_CHUNK = 5_000
SPREAD_SECONDS = 3600.0
# Jobs not due now come due a minute later at the earliest: none of them comes due while the bench runs.
NOT_BEFORE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Scale:
    tasks: int
    enqueue_per_s: float
    claim_calls: int
    claimed: int
    claim_median_us: float
    claim_p99_us: float
    claims_per_s: float
    idle_claim_us: float
    gauge_read_ms: float
    key_bytes: int

    @property
    def bytes_per_task(self) -> float:
        return self.key_bytes / self.tasks


async def enqueue(
    redis_client: Redis,
    prefix: str,
    tasks: int,
    due_now: int,
    *,
    source: str = SOURCE,
    not_before_s: float = NOT_BEFORE_SECONDS,
    spread_s: float = SPREAD_SECONDS,
) -> float:
    """Enqueue `tasks` poll jobs of `source`, `due_now` of them due already and the others spread
    evenly at random over `spread_s` seconds from `not_before_s` on; returns jobs enqueued per second."""
    now = time.time()
    started = time.perf_counter()
    for low in range(0, tasks, PIPELINE_CHUNK):
        async with redis_client.pipeline(transaction=False) as pipe:
            # A queue over a pipeline queues its commands; execute() sends them in one round trip.
            queue = JobQueue(pipe, prefix)
            for number in range(low, min(tasks, low + PIPELINE_CHUNK)):
                task_id = f"task-{number:07d}"
                later = now + not_before_s + random.random() * spread_s
                due = now - random.random() if number < due_now else later
                # What `receiver.flow.poll.watch` stores for a task of a poll-only source.
                payload = PollJob(
                    source=source, task_id=task_id, registered_at=now, interval=5.0, task_type="generation"
                ).model_dump(mode="json")
                await queue.enqueue(poll_job_id(source, task_id), POLL, payload, due=due)
            created = await pipe.execute()
        assert all(created), "a job id was enqueued twice"
    return tasks / (time.perf_counter() - started)


async def measure(redis_client: Redis, prefix: str, tasks: int, due_now: int) -> Scale:
    rate = await enqueue(redis_client, prefix, tasks, due_now)
    queue = JobQueue(redis_client, prefix)
    timings = []
    claimed = 0
    started = time.perf_counter()
    while True:
        before = time.perf_counter()
        jobs = await queue.claim(time.time(), LEASE_SECONDS, CLAIM_BATCH)
        timings.append(time.perf_counter() - before)
        claimed += len(jobs)
        if not jobs:
            break
    elapsed = time.perf_counter() - started
    idle = timings.pop()  # the last claim found nothing due: what an idle runner pays every 0.25 s
    before = time.perf_counter()
    watched = len(await queue.jobs(POLL))
    gauge_read = time.perf_counter() - before
    assert watched == tasks
    key_bytes = 0
    for key in (f"{prefix}:{{jobs}}:due", f"{prefix}:{{jobs}}:data"):
        key_bytes += int(await redis_client.memory_usage(key, samples=0) or 0)
    timings.sort()
    return Scale(
        tasks=tasks,
        enqueue_per_s=rate,
        claim_calls=len(timings),
        claimed=claimed,
        claim_median_us=statistics.median(timings) * 1e6,
        claim_p99_us=timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1e6,
        claims_per_s=claimed / elapsed,
        idle_claim_us=idle * 1e6,
        gauge_read_ms=gauge_read * 1e3,
        key_bytes=key_bytes,
    )


COLUMNS: tuple[tuple[str, Callable[[Scale], str]], ...] = (
    ("watched tasks", lambda scale: f"{scale.tasks:,}"),
    ("enqueue/s", lambda scale: f"{scale.enqueue_per_s:,.0f}"),
    ("claimed", lambda scale: f"{scale.claimed:,}"),
    ("claims/s", lambda scale: f"{scale.claims_per_s:,.0f}"),
    ("claim p50", lambda scale: f"{scale.claim_median_us:,.0f} us"),
    ("claim p99", lambda scale: f"{scale.claim_p99_us:,.0f} us"),
    ("idle claim", lambda scale: f"{scale.idle_claim_us:,.0f} us"),
    ("gauge read", lambda scale: f"{scale.gauge_read_ms:,.1f} ms"),
    ("queue memory", lambda scale: f"{scale.key_bytes / 2**20:,.1f} MB"),
    ("per task", lambda scale: f"{scale.bytes_per_task:,.0f} B"),
)


def table(scales: list[Scale]) -> str:
    rows = [[name for name, _ in COLUMNS]] + [[cell(scale) for _, cell in COLUMNS] for scale in scales]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    lines = ["  ".join(text.rjust(width) for text, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


async def run(tasks: int, due_now: int, tag: str) -> list[Scale]:
    sizes = sorted({size for size in (1_000, 10_000, tasks) if size <= tasks})
    client = Redis.from_url(redis_url())
    try:
        scales = []
        for size in sizes:
            scales.append(await measure(client, f"bench-{tag}-watch-{size}", size, min(due_now, size)))
        return scales
    finally:
        await client.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.watch_scale", description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000, help="watched tasks in the largest queue")
    parser.add_argument("--due", type=int, default=1_000, help="jobs due now in each queue (claimed)")
    args = parser.parse_args(argv)
    tag = secrets.token_hex(4)
    started = time.perf_counter()
    try:
        scales = asyncio.run(run(args.tasks, args.due, tag))
    except KeyboardInterrupt:
        print("interrupted: bench keys deleted", file=sys.stderr)
        return 130
    except redis.RedisError as exc:
        print(f"Redis at {redis_url()} failed: {exc}", file=sys.stderr)
        return 2
    finally:
        cleaner = redis.Redis.from_url(redis_url())
        for size in (1_000, 10_000, args.tasks):
            delete_prefix(cleaner, f"bench-{tag}-watch-{size}")
        cleaner.close()
    print(f"job queue at scale: claims of {CLAIM_BATCH}, leased {LEASE_SECONDS:g} s; Redis {redis_url()}")
    print(table(scales))
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
