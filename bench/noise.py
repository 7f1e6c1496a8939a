"""How much CPU other processes took during a measured run.

The machine is shared (other sessions build and test on it), and on 2 cores a neighbour taking
half a core moves a server's figure a lot. Measuring it lets the reader discard a run instead of
trusting a number that another process made.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

import psutil  # type: ignore[import-untyped]
import redis

from bench.servers import tree_sum


@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    machine_busy_s: float  # all CPUs, all processes
    ours_s: float  # server tree + finished children (wrk) + this process + Redis


def _tree_cpu(pid: int) -> float:
    return tree_sum(pid, lambda proc: sum(proc.cpu_times()[:2]))


def _redis_cpu(client: redis.Redis) -> float:
    try:
        info = client.info("cpu")
    except redis.RedisError:
        return 0.0
    return float(info.get("used_cpu_user", 0.0)) + float(info.get("used_cpu_sys", 0.0))


def snapshot(server_pid: int, client: redis.Redis) -> CpuSnapshot:
    times = psutil.cpu_times()
    # Not sum(times): guest time is already inside user, and steal is the host's, not a process's.
    busy = (
        times.user + times.nice + times.system + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
    )
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = (
        _tree_cpu(server_pid)
        + me.ru_utime
        + me.ru_stime
        + children.ru_utime
        + children.ru_stime
        + _redis_cpu(client)
    )
    return CpuSnapshot(at=time.monotonic(), machine_busy_s=busy, ours_s=ours)


def other_cores(before: CpuSnapshot, after: CpuSnapshot) -> float:
    """Average number of cores busy with processes that are not part of the bench."""
    wall = after.at - before.at
    if wall <= 0:
        return 0.0
    other = (after.machine_busy_s - before.machine_busy_s) - (after.ours_s - before.ours_s)
    return max(0.0, other / wall)


def wait_for_quiet(max_wait_s: float, threshold_cores: float = 0.25) -> float:
    """Wait, up to `max_wait_s`, for a second in which the machine is nearly idle; return the wait.

    Called while the server under test is idle, so any CPU busy then belongs to other processes.
    Neighbours' builds and test runs come in bursts of seconds: waiting one out is cheaper than a
    skewed run.
    """
    started = time.monotonic()
    ncpu = psutil.cpu_count() or 1
    while True:
        busy_cores = psutil.cpu_percent(interval=1.0) / 100 * ncpu
        waited = time.monotonic() - started
        if busy_cores <= threshold_cores or waited >= max_wait_s:
            return waited
