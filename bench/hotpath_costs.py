"""What a delivery's glue (log line, metrics, request id, tracing-off hooks) costs, next to the work a
delivery cannot skip.

Run by hand: `.venv/bin/python bench/hotpath_costs.py` (microseconds, best of several repeats: trust it
on a quiet machine only) or `... --instructions` (instructions per call, counted by callgrind around
the work alone, `bench/instructions.py`: the same on a busy machine). Not a test. Each figure is
measured with the production configuration of structlog and prometheus_client; the log line goes to
/dev/null, so the cost shown is rendering and writing, not a terminal's.
"""

from __future__ import annotations

import os
import sys
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.instructions import counted, mark
from receiver.core.decoding import decode
from receiver.foundation import logs, metrics, tracing
from receiver.http.middleware import next_request_id
from receiver.providers import PROVIDER_SCHEMAS
from receiver.services.fixtures import load_fixture
from receiver.verifiers.standard_webhooks import StandardWebhooks
from schemas.normalizing import DeliveryContext

REPEATS = 7
FIXTURE = "fixtures/memories/many-segments.json"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def per_call_us(work: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(work, number=number, repeat=REPEATS)) / number * 1e6


def rows() -> list[tuple[str, Callable[[], object], int]]:
    logs.configure("info")
    log = logs.logger.bind(request_id="0123456789abcdef0123456789abcdef", source="memories-main")

    fixture = load_fixture(Path(FIXTURE))
    verifier = StandardWebhooks([SECRET], 300)
    now = time.time()
    headers = verifier.sign(fixture.body, now, "msg_bench").headers
    ctx = DeliveryContext("memories-main", "memories", datetime.now(UTC), "msg_bench")
    provider = PROVIDER_SCHEMAS["memories"]
    child = metrics.DELIVERIES.labels("memories-main", "accepted")
    histogram_child = metrics.REQUEST_SECONDS.labels("memories-main")

    scope: dict[str, Any] = {"type": "http", "headers": [(b"content-type", b"application/json")]}
    return [
        (
            "verify + decode (the delivery's own CPU work)",
            lambda: (verifier.check(headers, fixture.body, None, now), decode(provider, fixture.body, ctx)),
            2_000,
        ),
        (
            "logger.bind + logger.info, JSON line to /dev/null",
            lambda: logs.logger.bind(
                request_id="0123456789abcdef0123456789abcdef", source="memories-main"
            ).info(
                "delivery", outcome="accepted", event_id="fd7933aa-b538-58ff-9dd8-ddfbefe31d16", reason=None
            ),
            20_000,
        ),
        (
            "logger.info on a bound logger",
            lambda: log.info(
                "delivery", outcome="accepted", event_id="fd7933aa-b538-58ff-9dd8-ddfbefe31d16", reason=None
            ),
            20_000,
        ),
        (
            "Counter.labels(source, outcome).inc()",
            lambda: metrics.DELIVERIES.labels("memories-main", "accepted").inc(),
            200_000,
        ),
        ("cached child .inc()", child.inc, 200_000),
        (
            "Histogram.labels(source).observe()",
            lambda: metrics.REQUEST_SECONDS.labels("memories-main").observe(0.0021),
            200_000,
        ),
        ("cached histogram child .observe()", lambda: histogram_child.observe(0.0021), 200_000),
        ("request id (next_request_id)", next_request_id, 200_000),
        ("tracing off: delivery + 2 spans + annotate + traceparent", lambda: _tracing_off(scope), 100_000),
    ]


def _tracing_off(scope: dict[str, Any]) -> None:
    with tracing.delivery(scope), tracing.span("verify"), tracing.span("publish"):
        tracing.annotate(source="memories-main", outcome="accepted")
        tracing.traceparent()


def main() -> None:
    report = sys.stdout
    sink = open(os.devnull, "w")  # noqa: SIM115 - the log sink for the whole run
    sys.stdout = sink
    if sys.argv[1:2] == ["--row"]:  # one row, under callgrind, for --instructions
        _, work, number = rows()[int(sys.argv[2])]
        sys.stdout = report  # the log sink (kept open) was bound when `rows` configured logging
        mark("ready")
        for _ in range(number // 10):
            work()
        mark("done")
        sink.close()
        return
    table = rows()
    if sys.argv[1:] == ["--instructions"]:
        argv = [sys.executable, "-P", __file__, "--row"]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        print(f"{'what':<60} {'instructions/call':>18}", file=report)
        for index, (name, _, number) in enumerate(table):
            per_call = counted([*argv, str(index)], env) / (number // 10)
            print(f"{name:<60} {per_call:>18,.0f}", file=report)
        return
    print(f"{'what':<60} {'us/call':>9}", file=report)
    for name, work, number in table:
        print(f"{name:<60} {per_call_us(work, number):>9.2f}", file=report)


if __name__ == "__main__":
    main()
