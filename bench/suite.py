"""One bench run: the three servers under the same load, then replay --direct, then the checks.

Every server gets its own Redis key prefix and its own freshly signed deliveries; each key the run
made is deleted at the end, whatever happened.
"""

from __future__ import annotations

import math
import os
import secrets
import subprocess
from dataclasses import dataclass, field

import redis

from bench.deliveries import write_deliveries
from bench.latency import LatencyResult, consumer_latency
from bench.noise import other_cores, snapshot, wait_for_quiet
from bench.redis_keys import count_by_prefix, delete_prefix
from bench.replay import ReplayRun, run_replay, write_fixtures
from bench.servers import Server, ServerFailed
from bench.settings import CALLBACK_PATH, WORK_DIR, redis_url
from bench.targets import Kind, Target, videohooks_binary, write_config
from bench.wrk import WrkResult, run_wrk

# Deliveries for the warm-up: enough for 40k req/s, above any server here, so it never repeats one.
WARMUP_RATE_BOUND = 40_000
# The ceiling checks nothing: it may cycle a bounded set instead of holding ~300k records.
CEILING_SET_CAP = 100_000


@dataclass(frozen=True)
class Options:
    duration_s: int = 10
    warmup_s: int = 2
    kinds: tuple[Kind, ...] = (Kind.CEILING, Kind.BYHAND, Kind.VIDEOHOOKS)
    replay_events: int = 20_000
    latency_deliveries: int = 200
    quiet_wait_s: float = 15.0


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
    measured: WrkResult | None = None
    deliveries: int = 0
    cycled: bool = False  # the ceiling may repeat deliveries; the others must not
    rss_peak_mb: float | None = None
    loadavg_1m_before: float | None = None
    other_cpu_cores: float | None = None  # CPU other processes took during the measured run
    quiet_wait_s: float | None = None  # how long the run waited for the machine to calm down
    check: StreamCheck | None = None
    latency: LatencyResult | None = None


@dataclass
class ReplayResult:
    status: str  # "ok", "missing" or "failed"
    detail: str | None = None
    run: ReplayRun | None = None
    startup: ReplayRun | None = None
    check: StreamCheck | None = None


@dataclass
class SuiteResult:
    run_tag: str
    options: Options
    servers: dict[Kind, ServerResult] = field(default_factory=dict)
    replay: ReplayResult | None = None


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


@dataclass(frozen=True)
class Prefixes:
    """Task-id prefixes of one server's deliveries, one per phase, to count them in the stream."""

    warmup: str
    measured: str
    latency: str


def _apply_load(
    server: Server, result: ServerResult, wrk: str, options: Options, prefixes: Prefixes, client: redis.Redis
) -> None:
    """Warm-up, then the measured run, with RSS sampled over both."""
    name = result.kind.value
    url = server.base_url + CALLBACK_PATH
    sampler = server.rss_sampler()
    sampler.start()
    try:
        warm_count = math.ceil(WARMUP_RATE_BOUND * options.warmup_s)
        warm_set = write_deliveries(WORK_DIR, f"{name}-warmup", prefixes.warmup, warm_count)
        warmup = result.warmup = run_wrk(wrk, url, options.warmup_s, warm_set)
        result.quiet_wait_s = round(wait_for_quiet(options.quiet_wait_s), 1)
        # Signed right before the measured run: timestamps must be fresh for the receiver.
        count = measured_set_size(result.kind, warmup.rps, options.duration_s)
        measured_set = write_deliveries(WORK_DIR, f"{name}-measured", prefixes.measured, count)
        print(f"[{name}] warm-up {warmup.rps:,.0f} req/s; measuring with {count:,} deliveries", flush=True)
        before = snapshot(server.pid, client)
        measured = result.measured = run_wrk(wrk, url, options.duration_s, measured_set)
        result.other_cpu_cores = round(other_cores(before, snapshot(server.pid, client)), 2)
        result.deliveries = count
        result.cycled = measured.wraps > 0
    finally:
        sampler.stop()
        result.rss_peak_mb = sampler.peak_bytes / 2**20


def bench_server(kind: Kind, run_tag: str, wrk: str, options: Options, client: redis.Redis) -> ServerResult:
    target = Target(kind, prefix=f"bench-{run_tag}-{kind.value}")
    result = ServerResult(kind, target.label, status="ok")
    prefixes = Prefixes(*(f"{run_tag}-{kind.value}-{phase}-" for phase in ("w", "m", "l")))
    try:
        server = target.server()
    except FileNotFoundError as exc:
        result.status, result.detail = "missing", str(exc)
        return result
    print(f"[{kind.value}] starting", flush=True)
    result.loadavg_1m_before = round(os.getloadavg()[0], 2)
    try:
        with server:
            _apply_load(server, result, wrk, options, prefixes, client)
            if target.stream and options.latency_deliveries:
                result.latency = consumer_latency(
                    server.base_url, target.stream, prefixes.latency, options.latency_deliveries
                )
        # Checked after the server stopped: its graceful shutdown has finished the requests in flight.
        if target.stream and result.warmup and result.measured:
            answered = result.warmup.ok + result.measured.ok
            result.check = check_stream(client, target.stream, answered, [prefixes.warmup, prefixes.measured])
    except (ServerFailed, RuntimeError, subprocess.TimeoutExpired) as exc:
        # RuntimeError: wrk could not run against it (the server died mid-run, say).
        result.status, result.detail = "failed", str(exc)
    finally:
        delete_prefix(client, target.prefix)
    return result


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
        return result
    finally:
        delete_prefix(client, prefix)


def run_suite(wrk: str, options: Options) -> SuiteResult:
    run_tag = secrets.token_hex(4)
    suite = SuiteResult(run_tag=run_tag, options=options)
    client = redis.Redis.from_url(redis_url())
    try:
        client.ping()
        for kind in options.kinds:
            suite.servers[kind] = bench_server(kind, run_tag, wrk, options, client)
        if options.replay_events:
            suite.replay = bench_replay(run_tag, options, client)
    finally:
        for key_prefix in [f"bench-{run_tag}-{kind.value}" for kind in Kind] + [f"bench-{run_tag}-replay"]:
            delete_prefix(client, key_prefix)
        client.close()
    return suite
