"""The durable job queue: idempotent enqueue, leases that bring back a dead worker's jobs, retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from receiver.core.jobs import SCAN_PAGE, Done, Job, JobQueue, JobRunner, RunAgain
from tests.support.waiting import wait_for


@pytest.fixture
async def queue(redis_url: str, prefix: str) -> AsyncIterator[JobQueue]:
    client = Redis.from_url(redis_url)
    yield JobQueue(client, prefix)
    await client.aclose()


async def test_enqueue_is_idempotent_by_id(queue: JobQueue) -> None:
    assert await queue.enqueue("j1", "fetch", {"n": 1})
    assert not await queue.enqueue("j1", "fetch", {"n": 2})
    job = await queue.get("j1")
    assert job == Job("j1", "fetch", {"n": 1})
    assert await queue.count() == 1
    assert await queue.count("poll") == 0


async def test_scan_and_count_read_every_job_of_a_kind_across_pages(queue: JobQueue) -> None:
    polls = {f"poll-{number}" for number in range(2 * SCAN_PAGE + 7)}
    for job_id in polls:
        await queue.enqueue(job_id, "poll", {"n": job_id})
    await queue.enqueue("fetch-1", "fetch", {})
    scanned = [job async for job in queue.scan("poll")]
    assert {job.id for job in scanned} == polls
    assert all(job.payload == {"n": job.id} for job in scanned)
    assert (await queue.count("poll"), await queue.count("fetch"), await queue.count()) == (
        len(polls),
        1,
        len(polls) + 1,
    )


async def test_claim_takes_due_jobs_oldest_first_and_leases_them(queue: JobQueue) -> None:
    now = time.time()
    await queue.enqueue("late", "k", {}, due=now - 1)
    await queue.enqueue("early", "k", {}, due=now - 10)
    await queue.enqueue("future", "k", {}, due=now + 60)
    assert [job.id for job in await queue.claim(now, lease_seconds=30, limit=10)] == ["early", "late"]
    # Leased: not claimable again until the lease runs out, as if the worker died holding them.
    assert await queue.claim(now + 1, lease_seconds=30, limit=10) == []
    assert [job.id for job in await queue.claim(now + 31, lease_seconds=30, limit=10)] == ["early", "late"]


async def test_runner_completes_reschedules_and_survives_a_crashing_handler(queue: JobQueue) -> None:
    calls: list[str] = []

    async def handler(job: Job) -> Done | RunAgain:
        calls.append(job.id)
        if job.id == "boom":
            raise RuntimeError("handler bug")
        if job.payload.get("attempt", 0) < 1:
            return RunAgain(time.time() - 1, {"attempt": 1})
        return Done()

    runner = JobRunner(queue, {"k": handler}, error_backoff_seconds=3600)
    await queue.enqueue("ok", "k", {})
    await queue.enqueue("boom", "k", {})
    assert await runner.run_due() == 2
    assert (await queue.get("ok")) == Job("ok", "k", {"attempt": 1})
    assert await runner.run_due() == 1  # "ok" again; "boom" backs off for an hour
    assert await queue.get("ok") is None
    assert await queue.get("boom") is not None
    assert sorted(calls) == ["boom", "ok", "ok"]


async def test_a_job_running_longer_than_its_lease_is_not_taken_by_another_runner(queue: JobQueue) -> None:
    """The runner pushes the lease on while the handler works, so a second process claims nothing."""
    runs: list[float] = []
    finish = asyncio.Event()

    async def slow(job: Job) -> Done:
        runs.append(time.time())
        await finish.wait()
        return Done()

    lease = 0.3
    first = JobRunner(queue, {"k": slow}, lease_seconds=lease)
    second = JobRunner(queue, {"k": slow}, lease_seconds=lease)
    await queue.enqueue("long", "k", {}, due=time.time() - 1)
    started = time.time()
    running = asyncio.create_task(first.run_due())

    async def running_on_first() -> bool:
        return bool(runs)

    async def leased_past_twice_its_length() -> bool:
        assert await second.run_due() == 0
        due = await queue.due("long")
        return due is not None and due > started + 2 * lease

    await wait_for(running_on_first)
    await wait_for(leased_past_twice_its_length, timeout=5)
    finish.set()
    assert await running == 1
    assert len(runs) == 1
    assert await queue.count() == 0
