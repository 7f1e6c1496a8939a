"""One bench run: the three servers under the same load, replay --direct, head-of-line, watched tasks,
asset copy, decode, the checks.

The servers run side by side (an idle one takes no CPU) and are measured in interleaved rounds:
ceiling, by hand, videohooks, then again, `rounds` times. This machine's speed drifts by tens of
percent over a minute (it is a shared VM); measured one after the other, a server measured in a slow
minute would carry that into the ratios. Interleaved, each server sees the same drift, and the figure
kept per server is its median round.

Every server gets its own Redis key prefix and freshly signed deliveries for each round; each key the
run made is deleted at the end, whatever happened.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import subprocess
from dataclasses import dataclass, field

import redis

from bench.asset_copy import CopyResult, measure_copy
from bench.decode import DecodeRow, SmallRow
from bench.decode import measure as measure_decode
from bench.deliveries import write_deliveries
from bench.headofline import HeadOfLineResult, measure_head_of_line
from bench.largebody import LargeBodyRow
from bench.largebody import measure as measure_large_body
from bench.latency import LatencyResult, consumer_latency
from bench.noise import other_cores, snapshot, wait_for_quiet
from bench.redis_keys import count_by_prefix, delete_prefix
from bench.replay import ReplayRun, ReplayShares, measure_shares, run_replay, write_fixtures
from bench.servers import RssSampler, Server, ServerFailed
from bench.settings import CALLBACK_PATH, WORK_DIR, redis_url
from bench.targets import Kind, Target, videohooks_binary, write_config
from bench.watch_load import WatchLoadResult, measure_watch_load
from bench.wrk import WrkResult, run_wrk

# Deliveries for the warm-up: enough for 40k req/s, above any server here, so it never repeats one.
WARMUP_RATE_BOUND = 40_000
# The ceiling checks nothing: it may cycle a bounded set instead of holding ~300k records.
CEILING_SET_CAP = 100_000


@dataclass(frozen=True)
class Options:
    duration_s: int = 5  # of each round
    rounds: int = 3
    warmup_s: int = 2
    kinds: tuple[Kind, ...] = (Kind.CEILING, Kind.BYHAND, Kind.VIDEOHOOKS)
    replay_events: int = 20_000
    latency_deliveries: int = 200
    quiet_wait_s: float = 15.0
    head_of_line_rounds: int = 2
    large_body_rounds: int = 5
    decode: bool = True
    watch_tasks: int = 100_000
    watch_seconds: int = 20
    copy_mib: int = 256


@dataclass(frozen=True)
class StreamCheck:
    """Entries in the stream for this server's warm-up and measured deliveries vs its 2xx answers."""

    answered_2xx: int
    entries: int
    duplicates: int

    @property
    def passed(self) -> bool:
        return self.entries >= self.answered_2xx and self.duplicates == 0


@dataclass
class ServerResult:
    kind: Kind
    label: str
    status: str  # "ok", "missing" or "failed"
    detail: str | None = None
    warmup: WrkResult | None = None
    rounds: list[WrkResult] = field(default_factory=list)
    deliveries: int = 0
    cycled: bool = False  # the ceiling may repeat deliveries; the others must not
    rss_peak_mb: float | None = None
    loadavg_1m_before: float | None = None
    other_cpu_cores: float | None = None  # the most CPU other processes took during one of its rounds
    quiet_wait_s: float | None = None  # how long its rounds waited for the machine to calm down, in all
    check: StreamCheck | None = None
    latency: LatencyResult | None = None

    @property
    def measured(self) -> WrkResult | None:
        """The median round by requests/s: the figure the table and the ratios use."""
        if not self.rounds:
            return None
        return sorted(self.rounds, key=lambda run: run.rps)[len(self.rounds) // 2]

    @property
    def answered_2xx(self) -> int:
        return (self.warmup.ok if self.warmup else 0) + sum(run.ok for run in self.rounds)


@dataclass
class ReplayResult:
    status: str  # "ok", "missing" or "failed"
    detail: str | None = None
    run: ReplayRun | None = None
    startup: ReplayRun | None = None
    check: StreamCheck | None = None
    shares: ReplayShares | None = None


@dataclass
class SuiteResult:
    run_tag: str
    options: Options
    servers: dict[Kind, ServerResult] = field(default_factory=dict)
    replay: ReplayResult | None = None
    head_of_line: HeadOfLineResult | None = None
    watch_load: WatchLoadResult | None = None
    asset_copy: CopyResult | None = None
    decode: tuple[list[DecodeRow], SmallRow] | None = None
    large_body: list[LargeBodyRow] | None = None


def measured_set_size(kind: Kind, warmup_rps: float, duration_s: int) -> int:
    """Twice what the warm-up rate would send, plus slack: unique servers must never run out."""
    size = math.ceil(warmup_rps * duration_s * 2) + 10_000
    return min(size, CEILING_SET_CAP) if kind is Kind.CEILING else size


def check_stream(
    client: redis.Redis, stream: str, answered_2xx: int, task_prefixes: list[str]
) -> StreamCheck:
    counts = count_by_prefix(client, stream, task_prefixes)
    entries = sum(sum(c.values()) for c in counts.values())
    duplicates = sum(n - 1 for c in counts.values() for n in c.values() if n > 1)
    return StreamCheck(answered_2xx=answered_2xx, entries=entries, duplicates=duplicates)


@dataclass
class Running:
    """One server under test, started, with what its rounds need."""

    target: Target
    server: Server
    result: ServerResult
    sampler: RssSampler
    url: str

    def task_prefix(self, run_tag: str, phase: str) -> str:
        return f"{run_tag}-{self.target.kind.value}-{phase}-"


def _start(kind: Kind, run_tag: str, stack: contextlib.ExitStack) -> Running | ServerResult:
    target = Target(kind, prefix=f"bench-{run_tag}-{kind.value}")
    result = ServerResult(kind, target.label, status="ok")
    try:
        server = target.server()
    except FileNotFoundError as exc:
        result.status, result.detail = "missing", str(exc)
        return result
    print(f"[{kind.value}] starting", flush=True)
    result.loadavg_1m_before = round(os.getloadavg()[0], 2)
    try:
        stack.enter_context(server)
    except ServerFailed as exc:
        result.status, result.detail = "failed", str(exc)
        return result
    sampler = server.rss_sampler()
    sampler.start()
    return Running(target, server, result, sampler, server.base_url + CALLBACK_PATH)


def _warm_up(running: Running, run_tag: str, wrk: str, options: Options) -> None:
    name = running.target.kind.value
    count = math.ceil(WARMUP_RATE_BOUND * options.warmup_s)
    warm_set = write_deliveries(WORK_DIR, f"{name}-warmup", running.task_prefix(run_tag, "w"), count)
    warmup = running.result.warmup = run_wrk(wrk, running.url, options.warmup_s, warm_set)
    print(f"[{name}] warm-up {warmup.rps:,.0f} req/s", flush=True)


def _measure_round(
    running: Running, run_tag: str, number: int, wrk: str, options: Options, client: redis.Redis
) -> None:
    result = running.result
    name = result.kind.value
    result.quiet_wait_s = round((result.quiet_wait_s or 0.0) + wait_for_quiet(options.quiet_wait_s), 1)
    # Signed right before the round: timestamps must be fresh for the receiver.
    assert result.warmup is not None
    count = measured_set_size(result.kind, result.warmup.rps, options.duration_s)
    prefix = running.task_prefix(run_tag, f"m{number}")
    measured_set = write_deliveries(WORK_DIR, f"{name}-measured", prefix, count)
    before = snapshot(running.server.pid, client)
    run = run_wrk(wrk, running.url, options.duration_s, measured_set)
    other = round(other_cores(before, snapshot(running.server.pid, client)), 2)
    result.other_cpu_cores = max(result.other_cpu_cores or 0.0, other)
    result.rounds.append(run)
    result.deliveries += count
    result.cycled = result.cycled or run.wraps > 0
    print(f"[{name}] round {number + 1}/{options.rounds}: {run.rps:,.0f} req/s", flush=True)


def _fail(running: Running, exc: Exception) -> None:
    running.result.status, running.result.detail = "failed", str(exc)


def bench_servers(run_tag: str, wrk: str, options: Options, client: redis.Redis) -> dict[Kind, ServerResult]:
    """Start every server, warm each up, measure them in interleaved rounds, then check the streams."""
    results: dict[Kind, ServerResult] = {}
    runs: list[Running] = []
    with contextlib.ExitStack() as stack:
        for kind in options.kinds:
            started = _start(kind, run_tag, stack)
            if isinstance(started, ServerResult):
                results[kind] = started
                continue
            results[kind] = started.result
            runs.append(started)
        for number in range(-1, options.rounds):
            for running in runs:
                if running.result.status != "ok":
                    continue
                try:
                    if number < 0:
                        _warm_up(running, run_tag, wrk, options)
                    else:
                        _measure_round(running, run_tag, number, wrk, options, client)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    _fail(running, exc)  # wrk could not run against it (the server died, say)
        for running in runs:
            running.sampler.stop()
            running.result.rss_peak_mb = running.sampler.peak_bytes / 2**20
            if running.result.status == "ok" and running.target.stream and options.latency_deliveries:
                running.result.latency = consumer_latency(
                    running.server.base_url,
                    running.target.stream,
                    running.task_prefix(run_tag, "l"),
                    options.latency_deliveries,
                )
    # Checked after the servers stopped: each graceful shutdown has finished the requests in flight.
    for running in runs:
        result = running.result
        if running.target.stream and result.status == "ok":
            phases = ["w", *(f"m{number}" for number in range(len(result.rounds)))]
            prefixes = [running.task_prefix(run_tag, phase) for phase in phases]
            result.check = check_stream(client, running.target.stream, result.answered_2xx, prefixes)
        delete_prefix(client, running.target.prefix)
    return results


def bench_replay(run_tag: str, options: Options, client: redis.Redis) -> ReplayResult:
    binary = videohooks_binary()
    if binary is None:
        return ReplayResult(status="missing", detail="videohooks console script not installed")
    prefix = f"bench-{run_tag}-replay"
    task_prefix = f"{run_tag}-replay-"
    config = write_config(WORK_DIR / "replay.toml", prefix)
    print(f"[replay] writing {options.replay_events:,} fixtures", flush=True)
    fixtures = write_fixtures(WORK_DIR / "replay-fixtures", task_prefix, options.replay_events)
    startup_fixture = write_fixtures(WORK_DIR / "replay-startup", f"{run_tag}-startup-", 1)
    try:
        try:
            startup = run_replay(binary, startup_fixture, config, 1)
            run = run_replay(binary, fixtures, config, options.replay_events)
        except subprocess.TimeoutExpired as exc:
            return ReplayResult(status="failed", detail=f"timed out after {exc.timeout:.0f} s")
        result = ReplayResult(status="ok", run=run, startup=startup)
        if run.exit_code != 0:
            result.status, result.detail = "failed", f"exit {run.exit_code}:\n{run.output_tail}"
        else:
            stream = f"{prefix}:events"
            result.check = check_stream(client, stream, options.replay_events, [task_prefix])
    finally:
        delete_prefix(client, prefix)
    try:
        print("[replay] where the time goes: loading, decode, publish, each alone", flush=True)
        result.shares = measure_shares(config, fixtures, startup.wall_s)
    finally:
        delete_prefix(client, prefix)
    return result


def run_suite(wrk: str, options: Options) -> SuiteResult:
    run_tag = secrets.token_hex(4)
    suite = SuiteResult(run_tag=run_tag, options=options)
    client = redis.Redis.from_url(redis_url())
    try:
        client.ping()
        suite.servers = bench_servers(run_tag, wrk, options, client)
        if options.replay_events:
            suite.replay = bench_replay(run_tag, options, client)
        if options.head_of_line_rounds:
            suite.head_of_line = measure_head_of_line(
                wrk, run_tag, client, options.duration_s, options.head_of_line_rounds, options.quiet_wait_s
            )
        if options.large_body_rounds:
            print("[large bodies] videohooks against the floor endpoint", flush=True)
            suite.large_body = measure_large_body(options.large_body_rounds)
        if options.watch_tasks:
            suite.watch_load = measure_watch_load(
                wrk,
                run_tag,
                options.watch_tasks,
                options.duration_s,
                options.watch_seconds,
                options.quiet_wait_s,
            )
        if options.copy_mib:
            suite.asset_copy = measure_copy(options.copy_mib)
        if options.decode:
            print("[decode] revision before issue 18 (from git) against today", flush=True)
            suite.decode = measure_decode()
    finally:
        ours = [f"bench-{run_tag}-{kind.value}" for kind in Kind] + [
            f"bench-{run_tag}-{name}" for name in ("replay", "headofline", "watchload")
        ]
        for key_prefix in ours:
            delete_prefix(client, key_prefix)
        client.close()
    return suite
