"""Head-of-line blocking: small deliveries' p99 with and without large bodies arriving, same server, same run.

wrk sends the bench's small deliveries on 16 connections; in alternate phases, two more connections
(bench/heavy.py) post 3 MiB memories.ai callbacks back to back. The figure is p99 with the large
bodies over p99 without, each the median over the rounds (target at most 2). The server is
`videohooks serve` with `[server] max_body_bytes` raised above the large bodies and `[limits]
max_items` above their segment count, everything else as configured by default.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import redis

from bench.deliveries import write_deliveries
from bench.noise import wait_for_quiet
from bench.redis_keys import delete_prefix
from bench.servers import Server, free_port
from bench.settings import CALLBACK_PATH, PYTHON, ROOT_DIR, TARGETS, WORK_DIR
from bench.targets import videohooks_binary, videohooks_server, write_config
from bench.wrk import WrkResult, run_wrk

SMALL_CONNECTIONS = 16
HEAVY_CONNECTIONS = 2
HEAVY_BYTES = 3 * 1024 * 1024
# Enough small deliveries for 10k req/s, above what 16 connections get here, so none is repeated.
SMALL_RATE_BOUND = 10_000


@dataclass
class HeadOfLineResult:
    status: str  # "ok", "missing" or "failed"
    detail: str | None = None
    alone: list[WrkResult] = field(default_factory=list)
    beside_heavy: list[WrkResult] = field(default_factory=list)
    heavy_statuses: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def _median_p99(runs: list[WrkResult]) -> float | None:
        values = sorted(run.p99_ms for run in runs)
        return values[len(values) // 2] if values else None

    @property
    def p99_alone_ms(self) -> float | None:
        return self._median_p99(self.alone)

    @property
    def p99_beside_heavy_ms(self) -> float | None:
        return self._median_p99(self.beside_heavy)

    @property
    def ratio(self) -> float | None:
        alone, beside = self.p99_alone_ms, self.p99_beside_heavy_ms
        return beside / alone if alone and beside else None


def _config(prefix: str) -> Path:
    path = write_config(WORK_DIR / "headofline.toml", prefix)
    with path.open("a") as config:
        config.write(f"\n[server]\nmax_body_bytes = {4 * 1024 * 1024}\n\n[limits]\nmax_items = 100000\n")
    return path


def _small(wrk: str, url: str, duration_s: int, task_prefix: str) -> WrkResult:
    deliveries = write_deliveries(WORK_DIR, "headofline", task_prefix, SMALL_RATE_BOUND * duration_s)
    return run_wrk(wrk, url, duration_s, deliveries, connections=SMALL_CONNECTIONS)


def _with_heavy(url: str, task_prefix: str) -> subprocess.Popen[bytes]:
    argv = [PYTHON, "-m", "bench.heavy", url, str(HEAVY_BYTES), str(HEAVY_CONNECTIONS), task_prefix]
    poster = subprocess.Popen(argv, cwd=ROOT_DIR, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert poster.stdout is not None
    if poster.stdout.readline().strip() != b"ready":
        poster.kill()
        raise RuntimeError("bench.heavy did not start")
    time.sleep(0.5)  # the first large bodies are on their way
    return poster


def _stop(poster: subprocess.Popen[bytes], statuses: dict[str, int]) -> None:
    poster.terminate()
    out, _ = poster.communicate(timeout=30)
    for code, count in orjson.loads(out.splitlines()[-1])["statuses"].items():
        statuses[code] = statuses.get(code, 0) + count


def measure_head_of_line(
    wrk: str,
    run_tag: str,
    client: redis.Redis,
    duration_s: int = 5,
    rounds: int = 2,
    quiet_wait_s: float = 15.0,
) -> HeadOfLineResult:
    binary = videohooks_binary()
    if binary is None:
        return HeadOfLineResult(status="missing", detail="videohooks console script not installed")
    prefix = f"bench-{run_tag}-headofline"
    result = HeadOfLineResult(status="ok")
    server: Server = videohooks_server(binary, _config(prefix), free_port(), name="headofline")
    try:
        with server:
            url = server.base_url + CALLBACK_PATH
            _small(wrk, url, 1, f"{run_tag}-hol-w-")  # warm-up
            for number in range(rounds):
                wait_for_quiet(quiet_wait_s)
                result.alone.append(_small(wrk, url, duration_s, f"{run_tag}-hol-a{number}-"))
                poster = _with_heavy(url, f"{run_tag}-hol-h{number}-")
                try:
                    result.beside_heavy.append(_small(wrk, url, duration_s, f"{run_tag}-hol-b{number}-"))
                finally:
                    _stop(poster, result.heavy_statuses)
                alone, beside = result.alone[-1].p99_ms, result.beside_heavy[-1].p99_ms
                print(
                    f"[head-of-line] round {number + 1}/{rounds}: p99 {alone:.1f} / {beside:.1f} ms",
                    flush=True,
                )
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        result.status, result.detail = "failed", str(exc)
    finally:
        delete_prefix(client, prefix)
    return result


def table(result: HeadOfLineResult) -> str:
    if result.status != "ok" or result.ratio is None:
        return f"head-of-line: {result.status} {result.detail or ''}"
    heavy = ", ".join(f"{code}: {count}" for code, count in sorted(result.heavy_statuses.items()))
    return (
        f"head-of-line, small deliveries at {SMALL_CONNECTIONS} connections, p99 (median of "
        f"{len(result.alone)} rounds):\n"
        f"  alone {result.p99_alone_ms:.1f} ms, beside {HEAVY_CONNECTIONS} connections posting "
        f"{HEAVY_BYTES // 2**20} MiB bodies {result.p99_beside_heavy_ms:.1f} ms: ratio {result.ratio:.2f} "
        f"(target <= {TARGETS['head_of_line_p99_ratio_max']:g})\n"
        f"  large bodies answered: {heavy or 'none'}; small req/s alone "
        f"{sorted(r.rps for r in result.alone)[len(result.alone) // 2]:,.0f}, beside "
        f"{sorted(r.rps for r in result.beside_heavy)[len(result.beside_heavy) // 2]:,.0f}"
    )
