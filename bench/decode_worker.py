"""One revision's decode, timed on request: the child process of `bench/decode.py`.

Run as a script with `PYTHONPATH` at one revision's tree (`git archive`, as `bench/ab.py` does), so it
imports only that tree's `receiver` and `schemas`, and nothing of `bench`. It reads requests as JSON lines
on stdin, `{"provider": name, "path": body file, "resource": bool, "number": calls}`, and answers each
with the seconds per call of `number` calls of decode + the publisher's serialization. Revisions before
issue 18 have no `pipeline.SCHEMAS` and serialize in decode and again in the publisher; both are done as
that revision did them; modules are looked up where each layout had them.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.event import event_to_json
from schemas.normalizing import DeliveryContext


def _first(*places: tuple[str, str]) -> Any:
    """The first of (module, name) that the revision's tree holds: its layout changed over time. Looked
    up as files first, since an editable install of this checkout would import what the tree lacks."""
    for module, name in places:
        root, *rest = module.split(".")
        base = Path(importlib.import_module(root).__file__ or "").parent.joinpath(*rest)
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            found = vars(importlib.import_module(module)).get(name)
            if found is not None:
                return found
    raise ImportError(f"none of {places} in this revision")


# Today's layout first, then the flat one (`receiver/pipeline.py`), then the one before issue 18.
DECODE = _first(("receiver.core.decoding", "decode"), ("receiver.pipeline", "decode"))
DECODE_RESOURCE = _first(
    ("receiver.core.decoding", "decode_resource"), ("receiver.pipeline", "decode_resource")
)
SCHEMAS = _first(
    ("receiver.providers", "PROVIDER_SCHEMAS"),
    ("receiver.pipeline", "SCHEMAS"),
    ("schemas.registry", "PROVIDERS"),
)
FREEZE = _first(("receiver.foundation.heap", "freeze_long_lived"), ("receiver.heap", "freeze_long_lived"))
LIMITS = _first(("receiver.config", "LimitsConfig"))(max_items=1_000_000)


def main() -> None:
    FREEZE()
    for line in sys.stdin:
        request = json.loads(line)
        body = Path(request["path"]).read_bytes()
        provider = request["provider"]
        decode = DECODE_RESOURCE if request["resource"] else DECODE
        ctx = DeliveryContext(f"{provider}-bench", provider, datetime.now(UTC), None)
        started = time.perf_counter()
        for _ in range(request["number"]):
            event_to_json(decode(SCHEMAS[provider], body, ctx, LIMITS))
        print((time.perf_counter() - started) / request["number"], flush=True)


if __name__ == "__main__":
    main()
