"""One revision's publisher at work, for `bench/publish_cost.py` to count its instructions.

Run as a script with `PYTHONPATH` at one revision's tree: `publish_worker.py CONFIG BATCH ROUNDS`
builds ROUNDS batches of BATCH events (a small memories delivery, each with its own task and delivery
id), says `ready`, publishes each batch concurrently through the revision's `open_pipeline` as the
receiver would, and says `done` (the protocol of `bench/instructions.py`, repeated here: this script
imports nothing of `bench`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import receiver
from receiver.config import load_config
from schemas.event import event_to_json
from schemas.normalizing import DeliveryContext

# The layered tree, or the flat one before it; told apart by its files, since an editable install of
# this checkout would import what an older tree lacks.
LAYERED = (Path(receiver.__file__ or "").parent / "wiring").is_dir()


def _module(layered: str, flat: str) -> Any:
    return importlib.import_module(layered if LAYERED else flat)


decode = _module("receiver.core.decoding", "receiver.pipeline").decode
load_fixture = _module("receiver.services.fixtures", "receiver.fixtures").load_fixture
open_pipeline = _module("receiver.wiring.connection", "receiver.connection").open_pipeline

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures/memories/many-segments.json"


def mark(word: str) -> None:
    print(word, flush=True)
    sys.stdin.readline()


async def main(config_path: str, batch: int, rounds: int) -> None:
    body = load_fixture(FIXTURE).body
    async with open_pipeline(load_config(config_path)) as (_, pipeline):
        # `providers` before issue 18, `schemas` since.
        schemas = vars(pipeline).get("schemas") or vars(pipeline)["providers"]
        ctx = DeliveryContext("bench-memories", "memories", datetime.now(UTC))
        template = decode(schemas["memories"], body, ctx)
        groups = [
            [
                dataclasses.replace(template, task_id=f"t{n}-{i}", delivery_id=f"d{n}-{i}")
                for i in range(batch)
            ]
            for n in range(rounds)
        ]
        for group in groups:
            for event in group:
                event_to_json(event)  # serialized by decode, as on the receiver's path
        await pipeline.publisher.publish(dataclasses.replace(template, task_id="warm-up"))
        mark("ready")
        for group in groups:
            await asyncio.gather(*(pipeline.publisher.publish(event) for event in group))
        mark("done")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
