"""Run wrk with bench/load.lua and read back the JSON summary its done() hook prints.

wrk is the same load generator for every server, so its own overhead is the same in each run
and cancels out of the ratios.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

import orjson

from bench.deliveries import DeliverySet
from bench.settings import LUA_SCRIPT, PACED_SCRIPT, WRK_CONNECTIONS, WRK_THREADS, WRK_TIMEOUT


@dataclass(frozen=True)
class WrkResult:
    duration_s: float
    requests: int
    sent: int
    wraps: int
    statuses: dict[int, int]
    socket_errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def ok(self) -> int:
        """Responses with a 2xx status."""
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)


def ensure_wrk() -> str:
    """Path of wrk, installed with apt-get when missing (the bench must run on a fresh machine)."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    print("wrk not found: installing it with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return found


def run_wrk(
    wrk: str,
    url: str,
    duration_s: int,
    deliveries: DeliverySet,
    connections: int = WRK_CONNECTIONS,
    pause_ms: int | None = None,
) -> WrkResult:
    """One wrk run; wrk takes whole seconds only. With `pause_ms` each connection waits that long
    before each request (bench/paced.lua): a load below capacity, at most `connections / pause` a second."""
    script, pause = (LUA_SCRIPT, []) if pause_ms is None else (PACED_SCRIPT, [str(pause_ms)])
    argv = [
        wrk,
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{duration_s}s",
        f"--timeout={WRK_TIMEOUT}",
        "-s",
        str(script),
        url,
        "--",
        *deliveries.lua_args(),
        *pause,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 120)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = orjson.loads(line.removeprefix("BENCH_JSON "))
    latency = data["latency_us"]
    return WrkResult(
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        sent=data["sent"],
        wraps=data["wraps"],
        statuses={int(k): v for k, v in data["statuses"].items()},
        socket_errors=data["errors"],
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
    )
