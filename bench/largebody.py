"""One large delivery at a time: videohooks against the floor endpoint (`bench/floor.py`), same run.

`python -m bench.largebody [--rounds N]` (also in `make bench`). For 3 MiB and 0.3 MiB memories.ai
callbacks, each server gets one signed delivery at a time, alternately, `rounds` each after a warm-up;
the figure is each server's median time from sending to the answer, and videohooks over the floor
(target at most 2.5). videohooks runs `serve` twice, with `[server] max_body_bytes` and `[limits]
max_items` raised for the bodies: as configured by default (a body above `offload_bytes` is decoded in
the worker process at nice 19, which on a busy machine waits for idle CPU, by design) and with
`offload_bytes` above the bodies (decoded on the event loop: the CPU cost alone).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from bench.bodies import memories_body
from bench.payload import secret_key, signed_delivery
from bench.redis_keys import delete_prefix
from bench.servers import Server, free_port, uvicorn_argv
from bench.settings import CALLBACK_PATH, ROOT_DIR, TARGETS, WORK_DIR, redis_url
from bench.targets import videohooks_binary, videohooks_server, write_config

MIB = 1024 * 1024
SIZES = (3 * MIB, MIB * 3 // 10)
_MARK = "LARGE-BODY-TASK"


@dataclass(frozen=True)
class LargeBodyRow:
    size_bytes: int
    floor_ms: float
    videohooks_ms: float  # as configured by default: decoded in the nice-19 worker process
    inline_ms: float  # `offload_bytes` above the body: decoded on the event loop

    @property
    def ratio(self) -> float:
        return self.videohooks_ms / self.floor_ms

    @property
    def inline_ratio(self) -> float:
        return self.inline_ms / self.floor_ms


def _post(client: httpx.Client, url: str, template: bytes, task_id: str) -> float:
    body, headers = signed_delivery(template, _MARK, task_id, secret_key())
    started = time.perf_counter()
    response = client.post(url, content=body, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != 202:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")
    return elapsed * 1000


def _config(prefix: str, offload_bytes: int | None) -> Path:
    path = write_config(WORK_DIR / f"{prefix}.toml", prefix)
    with path.open("a") as file:
        file.write(f"\n[server]\nmax_body_bytes = {4 * MIB}\n")
        if offload_bytes is not None:
            file.write(f"offload_bytes = {offload_bytes}\n")
        file.write("\n[limits]\nmax_items = 100000\n")
    return path


def measure(rounds: int = 7) -> list[LargeBodyRow]:
    binary = videohooks_binary()
    if binary is None:
        raise RuntimeError("videohooks console script not installed")
    tag = secrets.token_hex(4)
    prefix = f"bench-{tag}-largebody"
    configs = [
        _config(f"{prefix}-{name}", offload) for name, offload in (("offload", None), ("inline", 8 * MIB))
    ]
    env = {
        "BENCH_REDIS_URL": redis_url(),
        "BENCH_STREAM": f"{prefix}-floor:events",
        "PYTHONPATH": str(ROOT_DIR),
    }
    port = free_port()
    floor = Server("floor", uvicorn_argv("bench.floor:app", port), port, env=env)
    offloaded = videohooks_server(binary, configs[0], free_port(), name="largebody")
    inline = videohooks_server(binary, configs[1], free_port(), name="largebody-inline")
    rows = []
    client = redis.Redis.from_url(redis_url())
    try:
        with floor, offloaded, inline, httpx.Client(timeout=60) as http:
            urls = {
                "floor": floor.base_url + CALLBACK_PATH,
                "videohooks": offloaded.base_url + CALLBACK_PATH,
                "inline": inline.base_url + CALLBACK_PATH,
            }
            for size in SIZES:
                template = memories_body(size, _MARK)
                times: dict[str, list[float]] = {name: [] for name in urls}
                for number in range(rounds + 1):  # the first round warms up
                    for name, url in urls.items() if number % 2 else reversed(urls.items()):
                        elapsed = _post(http, url, template, f"{tag}-{size}-{name}-{number}")
                        if number:
                            times[name].append(elapsed)
                medians = {name: statistics.median(values) for name, values in times.items()}
                rows.append(LargeBodyRow(size, medians["floor"], medians["videohooks"], medians["inline"]))
    finally:
        delete_prefix(client, prefix)
        client.close()
    return rows


def table(rows: list[LargeBodyRow]) -> str:
    target = TARGETS["large_body_over_floor_max"]
    lines = [
        f"one large delivery at a time, median ms from sending to the answer (target <= {target:g}x floor):"
    ]
    for row in rows:
        lines.append(
            f"  {row.size_bytes / MIB:>4.1f} MiB: floor {row.floor_ms:7.1f},"
            f" videohooks {row.videohooks_ms:7.1f} ({row.ratio:.2f}x),"
            f" decoded inline {row.inline_ms:7.1f} ({row.inline_ratio:.2f}x)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.largebody", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    print(table(measure(parser.parse_args(argv).rounds)))


if __name__ == "__main__":
    main()
