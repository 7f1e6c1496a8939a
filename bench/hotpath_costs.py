"""What a delivery's log line and metric updates cost, next to the work a delivery cannot skip.

Run by hand, on a quiet machine: `.venv/bin/python bench/hotpath_costs.py`. Not a test: timings on a
shared machine are too noisy to assert on. Each figure is the best of several repeats, in microseconds
per call, measured in this process with the production configuration of structlog and prometheus_client;
the log line goes to /dev/null, so the cost shown is rendering and writing, not a terminal's.
"""

from __future__ import annotations

import os
import sys
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from receiver.core.decoding import decode
from receiver.foundation import logs, metrics
from receiver.providers import PROVIDER_SCHEMAS
from receiver.services.fixtures import load_fixture
from receiver.verifiers.standard_webhooks import StandardWebhooks
from schemas.normalizing import DeliveryContext

REPEATS = 7
FIXTURE = "fixtures/memories/many-segments.json"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def per_call_us(work: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(work, number=number, repeat=REPEATS)) / number * 1e6


def main() -> None:
    report = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the log sink for the whole run
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

    rows = [
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
    ]
    print(f"{'what':<52} {'us/call':>9}", file=report)
    for name, work, number in rows:
        print(f"{name:<52} {per_call_us(work, number):>9.2f}", file=report)


if __name__ == "__main__":
    main()
