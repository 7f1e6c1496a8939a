"""Throughput of `videohooks replay --direct`: the pipeline without HTTP, fed from fixture files.

The target (15,000 events/s) is judged on N / wall time of the whole command, as a user sees it.
The wall time of replaying one fixture is measured too and reported as start-up, because with N in
the tens of thousands interpreter start-up is a large share of the total; `measure_shares` splits the
rest into loading, decode and publishing, each measured alone in this process.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bench.payload import memories_payload
from bench.settings import ROOT_DIR, SOURCE_ID
from receiver.config import Config, load_config
from receiver.core.offload import Decoded, DecodeJob, decode_in_worker, restored
from receiver.providers import PROVIDER_SCHEMAS
from receiver.services.fixtures import fixture_paths, load_fixture
from receiver.services.replay import DECODE_CHUNK
from receiver.wiring.connection import open_pipeline
from schemas.event import CanonicalEvent
from schemas.normalizing import DeliveryContext


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


@dataclass(frozen=True)
class ReplayShares:
    """Where `replay --direct`'s CPU goes, per event, measured step by step in this process."""

    startup_s: float  # wall time of a one-file replay: interpreter, imports, config, Redis
    load_us: float  # reading and parsing one fixture file (in a decode process)
    decode_us: float  # gate, validation, normalization, serialization (in a decode process)
    publish_us: float  # the event loop's part: restoring the event, publish_many, the script's reply

    def shares(self, events: int) -> dict[str, float]:
        """Each step's share of the command's CPU for `events` files."""
        parts = {
            "start-up": self.startup_s,
            "loading": self.load_us * events / 1e6,
            "decode": self.decode_us * events / 1e6,
            "publish": self.publish_us * events / 1e6,
        }
        total = sum(parts.values())
        return {name: value / total for name, value in parts.items()}

    def bound_events_per_s(self, events: int, cores: int = 2) -> float:
        """The most this split allows on `cores` cores: the decode processes share the cores with the
        event loop, which alone must publish every event."""
        work = (self.load_us + self.decode_us + self.publish_us) * events / 1e6
        return events / (self.startup_s + max(self.publish_us * events / 1e6, work / cores))


def measure_shares(config_path: Path, fixtures: Path, startup_s: float, limit: int = 5_000) -> ReplayShares:
    """Per-event CPU of each step over (at most `limit` of) the fixtures, in this process with the
    receiver's code: what the command's decode processes and its event loop each do. Loading and
    decode are the best of three passes; publishing is one pass (a second would only find duplicates)."""
    config = load_config(config_path)
    source = config.sources[0]
    provider = PROVIDER_SCHEMAS[source.provider]
    paths = list(fixture_paths([fixtures]))[:limit]
    load_us = _best_us(lambda: [load_fixture(path) for path in paths], len(paths))
    received_at = datetime.now(UTC)
    jobs: list[DecodeJob] = [
        (
            provider,
            fixture.body,
            DeliveryContext(source.id, source.provider, received_at, fixture.delivery_id),
            config.limits,
            False,
        )
        for fixture in map(load_fixture, paths)
    ]
    decode_us = _best_us(lambda: [decode_in_worker(*job) for job in jobs], len(jobs))
    decoded = [decode_in_worker(*job) for job in jobs]
    publish_us = asyncio.run(_publish_us(config, decoded))
    return ReplayShares(startup_s, load_us, decode_us, publish_us)


def _best_us(work: Callable[[], object], count: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best / count * 1e6


async def _publish_us(config: Config, decoded: list[Decoded]) -> float:
    """The event loop's CPU per event: restoring each decode, handing chunks to `publish_many`."""
    async with open_pipeline(config) as (_, pipeline):
        started = time.process_time()
        for start in range(0, len(decoded), DECODE_CHUNK):
            events = [restored(item) for item in decoded[start : start + DECODE_CHUNK]]
            await pipeline.publisher.publish_many(
                [(event, "resource (replay)") for event in events if isinstance(event, CanonicalEvent)]
            )
        return (time.process_time() - started) / len(decoded) * 1e6
