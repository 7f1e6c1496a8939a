"""Issue 15's scheduling benchmark: 100,000 watched tasks on the receiver that also takes the callbacks.

`python -m bench.run` (skip with `--watch-tasks 0`). One `videohooks serve` with two sources: the
bench's memories source, which wrk sends small signed callbacks to on 16 connections, and `bench-relay`,
an OpenAI-compatible relay (poll only) whose API is `bench/fake_api.py` on loopback, answering every
poll `in_progress` at once, with `api_rate_limit_per_second` = 200. In order:

1. callbacks alone, `duration` seconds (after a warm-up): p99 without watches; the receiver's RSS;
2. 100,000 watches of `bench-relay` enqueued straight into Redis as `videohooks watch` stores them
   (bench/watch_scale.py's pipelined `enqueue`), due at random over the next 100 s: 1,000 polls a second
   come due, five times the budget, so the budget and not the queue sets the pace;
3. callbacks again for `watch_seconds` while the receiver polls: p99 beside the watches, the polls the
   fake API counted in each whole second of that run (against the budget: at most rate + burst in any
   one second, the rate on average), the receiver's RSS at the end and its peak;
4. the watches deleted, callbacks alone once more: a second p99 without, so that the machine's drift
   over the run shows.

Then, Redis alone, bench/watch_scale.py's claim cost at 1,000, 10,000 and 100,000 queued jobs: the
claim that finds the due polls must not grow with the queue (O(log n + k)).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import redis
from redis.asyncio import Redis as AsyncRedis

from bench import watch_scale
from bench.deliveries import write_deliveries
from bench.noise import wait_for_quiet
from bench.redis_keys import delete_prefix
from bench.servers import RssSampler, Server, free_port, tree_sum
from bench.settings import CALLBACK_PATH, HOST, PYTHON, ROOT_DIR, WORK_DIR, redis_url
from bench.targets import videohooks_binary, videohooks_server, write_config
from bench.wrk import WrkResult, run_wrk

RELAY_SOURCE = "bench-relay"
RATE_PER_SECOND = 200
BURST = RATE_PER_SECOND  # the receiver's default: one second's worth
# Callbacks at a moderate pace: 16 connections, each pausing 16 ms before each request (at most 1,000
# a second, about a third of what the receiver takes at full load), so that p99 shows what the polls
# make callbacks wait, not a queue of requests.
SMALL_CONNECTIONS = 16
PAUSE_MS = 16
# Due at random over this window: TASKS / DUE_SPREAD_S polls come due a second.
DUE_SPREAD_S = 100.0
# Enough deliveries for 10k req/s, above what 16 connections get here, so none is repeated.
SMALL_RATE_BOUND = 10_000
CLAIM_DUE = 1_000


@dataclass
class WatchLoadResult:
    status: str  # "ok", "missing" or "failed"
    detail: str | None = None
    tasks: int = 0
    enqueue_per_s: float | None = None
    alone: list[WrkResult] = field(default_factory=list)
    beside: WrkResult | None = None
    # CPU cores the receiver used during each run alone, and beside the watches.
    cores_alone: list[float] = field(default_factory=list)
    cores_beside: float | None = None
    # Polls the fake API answered in each whole second of the run beside the watches.
    polls_by_second: list[int] = field(default_factory=list)
    rss_before_mb: float | None = None  # after the first run alone, before the watches
    rss_after_mb: float | None = None  # at the end of the run beside 100k watches
    rss_peak_mb: float | None = None  # the most while the watches were queued
    claim: list[watch_scale.Scale] = field(default_factory=list)

    @property
    def p99_alone_ms(self) -> float | None:
        return statistics.mean(run.p99_ms for run in self.alone) if self.alone else None

    @property
    def p99_ratio(self) -> float | None:
        alone = self.p99_alone_ms
        return self.beside.p99_ms / alone if self.beside and alone else None

    @property
    def polls_per_s(self) -> float | None:
        return statistics.mean(self.polls_by_second) if self.polls_by_second else None

    @property
    def budget_respected(self) -> bool | None:
        """No second above rate + burst, and the average at most the rate (what GCRA promises)."""
        if not self.polls_by_second:
            return None
        seconds = len(self.polls_by_second)
        return (
            max(self.polls_by_second) <= RATE_PER_SECOND + BURST
            and sum(self.polls_by_second) <= RATE_PER_SECOND * seconds + BURST
        )

    @property
    def claim_growth(self) -> float | None:
        """Median claim time at the largest queue over the smallest: about 1 when O(log n + k)."""
        if len(self.claim) < 2:
            return None
        return self.claim[-1].claim_median_us / self.claim[0].claim_median_us


def _config(prefix: str, api_port: int) -> Path:
    path = write_config(WORK_DIR / "watchload.toml", prefix)
    with path.open("a") as config:
        config.write(
            "\n[[sources]]\n"
            f'id = "{RELAY_SOURCE}"\n'
            'provider = "openai-compatible"\n'
            f'api_base_url = "http://{HOST}:{api_port}"\n'
            'api_key = "bench"\n'
            f"api_rate_limit_per_second = {RATE_PER_SECOND}\n"
            f"api_rate_limit_burst = {BURST}\n"
        )
    return path


def _start_fake_api(port: int) -> subprocess.Popen[bytes]:
    api = subprocess.Popen(
        [PYTHON, "-m", "bench.fake_api", str(port)],
        cwd=ROOT_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )
    assert api.stdout is not None
    if api.stdout.readline().strip() != b"ready":
        api.kill()
        raise RuntimeError("bench.fake_api did not start")
    return api


def _polls_between(api_port: int, start: float, end: float) -> list[int]:
    """The fake API's count for each whole second inside [start, end]."""
    counts = orjson.loads(httpx.get(f"http://{HOST}:{api_port}/stats", timeout=10).content)
    return [counts.get(str(second), 0) for second in range(int(start) + 1, int(end))]


@dataclass(frozen=True)
class Paced:
    """A paced run of callbacks: wrk's figures, the receiver's CPU cores meanwhile, and when it ran."""

    wrk: WrkResult
    cores: float
    started: float  # unix seconds
    ended: float


def _small(wrk: str, server: Server, duration_s: int, task_prefix: str) -> Paced:
    deliveries = write_deliveries(WORK_DIR, "watchload", task_prefix, SMALL_RATE_BOUND * duration_s)
    before, started = _cpu_s(server.pid), time.time()
    run = run_wrk(wrk, server.base_url + CALLBACK_PATH, duration_s, deliveries, SMALL_CONNECTIONS, PAUSE_MS)
    ended = time.time()
    return Paced(run, (_cpu_s(server.pid) - before) / (ended - started), started, ended)


def _cpu_s(pid: int) -> float:
    return tree_sum(pid, lambda proc: sum(proc.cpu_times()[:2]))


async def _enqueue(prefix: str, tasks: int) -> float:
    client = AsyncRedis.from_url(redis_url())
    try:
        return await watch_scale.enqueue(
            client, prefix, tasks, 0, source=RELAY_SOURCE, not_before_s=0.0, spread_s=DUE_SPREAD_S
        )
    finally:
        await client.aclose()


def _mb(pid: int) -> float:
    return tree_sum(pid, lambda proc: proc.memory_info().rss) / 2**20


def _alone(server: Server, result: WatchLoadResult, wrk: str, duration_s: int, task_prefix: str) -> None:
    run = _small(wrk, server, duration_s, task_prefix)
    result.alone.append(run.wrk)
    result.cores_alone.append(run.cores)


@dataclass(frozen=True)
class Plan:
    """The run's sizes: watches, seconds of each run alone and beside them, the quiet wait."""

    tasks: int
    duration_s: int
    watch_seconds: int
    quiet_wait_s: float


def _run_server(
    server: Server, result: WatchLoadResult, wrk: str, run_tag: str, api_port: int, plan: Plan
) -> None:
    prefix = f"bench-{run_tag}-watchload"
    client = redis.Redis.from_url(redis_url())
    try:
        _small(wrk, server, 2, f"{run_tag}-wl-w-")  # warm-up
        wait_for_quiet(plan.quiet_wait_s)
        _alone(server, result, wrk, plan.duration_s, f"{run_tag}-wl-a0-")
        result.rss_before_mb = _mb(server.pid)
        print(
            f"[watch] alone: p99 {result.alone[-1].p99_ms:.1f} ms; enqueueing {plan.tasks:,} watches",
            flush=True,
        )
        sampler = RssSampler(server.pid)
        sampler.start()
        try:
            result.enqueue_per_s = asyncio.run(_enqueue(prefix, plan.tasks))
            beside = _small(wrk, server, plan.watch_seconds, f"{run_tag}-wl-b-")
            result.rss_after_mb = _mb(server.pid)
        finally:
            sampler.stop()
        result.beside, result.cores_beside = beside.wrk, beside.cores
        result.rss_peak_mb = sampler.peak_bytes / 2**20
        result.polls_by_second = _polls_between(api_port, beside.started, beside.ended)
        print(
            f"[watch] beside {plan.tasks:,} watches: p99 {beside.wrk.p99_ms:.1f} ms, "
            f"{result.polls_per_s or 0:,.0f} polls/s",
            flush=True,
        )
        # The watches go; a poll in flight may write its job's data back, which nothing reads again.
        client.unlink(f"{prefix}:{{jobs}}:due", f"{prefix}:{{jobs}}:data")
        time.sleep(1.0)
        wait_for_quiet(plan.quiet_wait_s)
        _alone(server, result, wrk, plan.duration_s, f"{run_tag}-wl-a1-")
    finally:
        delete_prefix(client, prefix)
        client.close()


def measure_watch_load(
    wrk: str,
    run_tag: str,
    tasks: int,
    duration_s: int = 5,
    watch_seconds: int = 20,
    quiet_wait_s: float = 15.0,
) -> WatchLoadResult:
    binary = videohooks_binary()
    if binary is None:
        return WatchLoadResult(status="missing", detail="videohooks console script not installed")
    result = WatchLoadResult(status="ok", tasks=tasks)
    api_port = free_port()
    prefix = f"bench-{run_tag}-watchload"
    try:
        api = _start_fake_api(api_port)
        try:
            server = videohooks_server(binary, _config(prefix, api_port), free_port(), name="watchload")
            with server:
                plan = Plan(tasks, duration_s, watch_seconds, quiet_wait_s)
                _run_server(server, result, wrk, run_tag, api_port, plan)
        finally:
            api.terminate()
            api.wait(timeout=10)
        print("[watch] claim cost at 1k, 10k and 100k queued jobs (Redis alone)", flush=True)
        result.claim = asyncio.run(watch_scale.run(tasks, CLAIM_DUE, run_tag))
    except (RuntimeError, subprocess.TimeoutExpired, httpx.HTTPError) as exc:
        result.status, result.detail = "failed", str(exc)
    finally:
        cleaner = redis.Redis.from_url(redis_url())
        delete_prefix(cleaner, prefix)
        for size in (1_000, 10_000, tasks):
            delete_prefix(cleaner, f"bench-{run_tag}-watch-{size}")
        cleaner.close()
    return result


def table(result: WatchLoadResult) -> str:
    polls, per_s = result.polls_by_second, result.polls_per_s
    if result.status != "ok" or result.beside is None or result.p99_ratio is None or per_s is None:
        return f"watched tasks: {result.status} {result.detail or ''}"
    alone = " / ".join(f"{run.p99_ms:.1f}" for run in result.alone)
    verdict = "respected" if result.budget_respected else "EXCEEDED"
    lines = [
        f"{result.tasks:,} watched tasks (poll-only relay, fake API on loopback, budget {RATE_PER_SECOND}/s "
        f"burst {BURST}), callbacks on {SMALL_CONNECTIONS} connections pausing {PAUSE_MS} ms:",
        f"  polls {per_s:,.1f}/s over {len(polls)} s (min {min(polls)}, max {max(polls)} in a "
        f"second): {per_s / RATE_PER_SECOND:.2f} of the budget, budget {verdict}",
        f"  callback p99 alone {alone} ms, beside the watches {result.beside.p99_ms:.1f} ms: "
        f"ratio {result.p99_ratio:.2f}",
        "  req/s alone "
        + " / ".join(f"{run.rps:,.0f}" for run in result.alone)
        + f", beside {result.beside.rps:,.0f}; receiver CPU cores alone "
        + " / ".join(f"{cores:.2f}" for cores in result.cores_alone)
        + f", beside {result.cores_beside or 0:.2f}",
        f"  receiver RSS before the watches {result.rss_before_mb:.1f} MB, "
        f"after {result.rss_after_mb:.1f} MB "
        f"(peak {result.rss_peak_mb:.1f} MB); enqueued {result.enqueue_per_s:,.0f} watches/s",
    ]
    if result.claim:
        growth = result.claim_growth
        lines.append(
            "  claim of 16 due polls (Redis alone), median: "
            + ", ".join(f"{scale.claim_median_us:,.0f} us at {scale.tasks:,}" for scale in result.claim)
            + ("" if growth is None else f" (x{growth:.2f} from smallest to largest)")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import secrets

    from bench.wrk import ensure_wrk

    parser = argparse.ArgumentParser(prog="python -m bench.watch_load", description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000, help="watched tasks")
    parser.add_argument("--duration", type=int, default=5, help="seconds of each run of callbacks alone")
    parser.add_argument(
        "--watch-seconds", type=int, default=20, help="seconds of callbacks beside the watches"
    )
    args = parser.parse_args(argv)
    result = measure_watch_load(
        ensure_wrk(), secrets.token_hex(4), args.tasks, args.duration, args.watch_seconds
    )
    print(table(result))
    return 0 if result.status == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
