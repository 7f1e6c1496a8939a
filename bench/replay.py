"""Throughput of `videohooks replay --direct`: the pipeline without HTTP, fed from fixture files.

The target (30,000 events/s) is judged on N / wall time of the whole command, as a user sees it.
The wall time of replaying one fixture is measured too and reported as start-up, because with N in
the tens of thousands interpreter start-up and file loading are a large share of the total.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.payload import memories_payload
from bench.settings import ROOT_DIR, SOURCE_ID


@dataclass(frozen=True)
class ReplayRun:
    events: int
    wall_s: float
    exit_code: int
    output_tail: str

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s if self.wall_s else 0.0


def write_fixtures(directory: Path, task_prefix: str, count: int) -> Path:
    """`count` unique memories fixtures, one JSON file each (the format `videohooks replay` loads)."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.json"):
        old.unlink()
    for i in range(count):
        fixture = {
            "source": SOURCE_ID,
            "provider": "memories",
            "headers": {},
            "body": memories_payload(f"{task_prefix}{i:07d}"),
        }
        (directory / f"{i:07d}.json").write_bytes(orjson.dumps(fixture))
    return directory


def run_replay(binary: str, fixtures: Path, config: Path, count: int, timeout_s: float = 120.0) -> ReplayRun:
    argv = [binary, "replay", str(fixtures), "--direct", "--config", str(config)]
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT_DIR)}  # this checkout's code, whatever is installed
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=ROOT_DIR,
    )
    wall = time.perf_counter() - started
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-12:])
    return ReplayRun(events=count, wall_s=wall, exit_code=done.returncode, output_tail=tail)
