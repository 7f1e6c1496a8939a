"""One revision's decode, timed on request: the child process of `bench/decode.py`.

Run as a script with `PYTHONPATH` at one revision's tree (`git archive`, as `bench/ab.py` does), so it
imports only that tree's `receiver` and `schemas`, and nothing of `bench`. It reads requests as JSON lines
on stdin, `{"provider": name, "path": body file, "resource": bool, "number": calls}`, and answers each
with the seconds per call of `number` calls of decode + the publisher's serialization. Revisions before
issue 18 have no `pipeline.SCHEMAS` and serialize in decode and again in the publisher; both are done as
that revision did them.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from receiver import pipeline
from receiver.config import LimitsConfig
from receiver.heap import freeze_long_lived
from schemas.event import event_to_json
from schemas.normalizing import DeliveryContext

LIMITS = LimitsConfig(max_items=1_000_000)


def _schemas() -> Any:
    # `pipeline.SCHEMAS` since issue 18; `schemas.registry.PROVIDERS` before it.
    return vars(pipeline).get("SCHEMAS") or importlib.import_module("schemas.registry").PROVIDERS


def main() -> None:
    schemas = _schemas()
    freeze_long_lived()
    for line in sys.stdin:
        request = json.loads(line)
        body = Path(request["path"]).read_bytes()
        provider = request["provider"]
        decode = pipeline.decode_resource if request["resource"] else pipeline.decode
        ctx = DeliveryContext(f"{provider}-bench", provider, datetime.now(UTC), None)
        started = time.perf_counter()
        for _ in range(request["number"]):
            event_to_json(decode(schemas[provider], body, ctx, LIMITS))
        print((time.perf_counter() - started) / request["number"], flush=True)


if __name__ == "__main__":
    main()
