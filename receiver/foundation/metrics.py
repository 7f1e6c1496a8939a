"""Prometheus metrics: what an operator on call needs to see, with bounded label sets.

Labels are source ids, outcome and reason codes, provider and model names: never a task id, a
delivery id or anything a sender controls freely.
"""

from __future__ import annotations

import functools
import os
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

# Set by `videohooks serve --workers N` (N > 1) before the workers start: each worker then writes its
# samples to files there, and /metrics, whichever worker answers it, sums every worker's files.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

DELIVERIES = Counter(
    "videohooks_deliveries",
    "Callback deliveries by source and outcome",
    ["source", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "videohooks_request_duration_seconds",
    "Time from a callback's arrival to its answer",
    ["source"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
PUBLISH_SECONDS = Histogram(
    "videohooks_publish_duration_seconds",
    "One round trip of the atomic dedupe-and-publish script",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
PUBLISH_BATCH_SIZE = Histogram(
    "videohooks_publish_batch_size",
    "Events written by one call of the publish script",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
INTERNAL_ERRORS = Counter(
    "videohooks_internal_errors",
    "Requests answered 500 because of a bug: each also logs `request.failed` with its traceback",
    ["exception"],
)
QUARANTINED = Counter(
    "videohooks_quarantined",
    "Authentic deliveries kept in the dead-letter stream, by reason",
    ["source", "reason"],
)
TOKENS = Counter(
    "videohooks_tokens",
    "Tokens reported in published events, to check the provider's bill from the stream side",
    ["provider", "model", "direction"],
)
# Across workers: 1 when any live worker's last check succeeded (they all reach the same Redis).
REDIS_UP = Gauge(
    "videohooks_redis_up", "1 while the last Redis health check succeeded", multiprocess_mode="livemax"
)

FETCH_FAILURES = Counter(
    "videohooks_fetch_failures",
    "Failed fetches of a thin webhook's task or video from the provider's API (each attempt)",
    ["source"],
)
POLL_FAILURES = Counter(
    "videohooks_poll_failures",
    "Failed polls of a watched task (each attempt)",
    ["source"],
)
RECONCILED = Counter(
    "videohooks_reconciled_publications",
    "Events of callback sources that no callback brought: published by reconciliation polls",
    ["source"],
)
WATCHED_TASKS = Gauge(
    "videohooks_watched_tasks",
    "Watched tasks by state: waiting for callbacks, reconciling (polled), overdue (past the deadline)",
    ["source", "state"],
    multiprocess_mode="livemax",
)
PUBLICATIONS = Counter(
    "videohooks_publications",
    "Events offered to the stream by any path (callback, fetch, poll, replay, redrive), by outcome",
    ["source", "outcome"],
)
BUDGET_WAITS = Counter(
    "videohooks_api_budget_waits",
    "Requests to a provider's API that had to wait for the source's shared budget (delayed or rescheduled)",
    ["source"],
)
BUDGET_WAIT_SECONDS = Counter(
    "videohooks_api_budget_wait_seconds",
    "Seconds requests waited (or were rescheduled) for the source's shared API budget",
    ["source"],
)
STREAM_LENGTH = Gauge(
    "videohooks_stream_length", "Entries in a stream", ["stream"], multiprocess_mode="livemax"
)
GROUP_LAG = Gauge(
    "videohooks_consumer_group_lag",
    "Entries a consumer group has not yet read",
    ["stream", "group"],
    multiprocess_mode="livemax",
)
GROUP_PENDING = Gauge(
    "videohooks_consumer_group_pending",
    "Entries read by a group but not acknowledged",
    ["stream", "group"],
    multiprocess_mode="livemax",
)
TRIM_AT_RISK = Gauge(
    "videohooks_retention_at_risk",
    "1 while trimming could drop entries this consumer group has not read yet",
    ["stream", "group"],
    multiprocess_mode="livemax",
)

ASSET_BYTES = Counter(
    "videohooks_asset_bytes_copied",
    "Bytes of generated assets written to the asset store",
    ["source"],
)
ASSET_COPIES = Counter(
    "videohooks_asset_copies",
    "Asset copy attempts by outcome: copied, retry (failed, tried again later), failed (given up)",
    ["source", "outcome"],
)
ASSET_COPY_SECONDS = Histogram(
    "videohooks_asset_copy_duration_seconds",
    "One asset's copy from the provider into the store, successful or not",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0),
)
PENDING_COPIES = Gauge(
    "videohooks_pending_copies",
    "Events waiting for their assets to be copied before they are published",
    multiprocess_mode="livemax",
)


Metric = TypeVar("Metric", bound=MetricWrapperBase)


@functools.lru_cache(maxsize=4096)
def child(metric: Metric, *labels: str) -> Metric:
    """`metric.labels(*labels)`, looked up once per label set.

    `labels()` takes a lock and validates its arguments on every call, a third of what counting a
    delivery costs; the children are long-lived either way. The bound only caps memory should a label
    set ever grow beyond what the module docstring promises.
    """
    return metric.labels(*labels)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR_ENV))


def exposition() -> bytes:
    """The Prometheus text: this process's metrics, or with several workers, all workers' together."""
    if not multiprocess():
        return generate_latest()
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def process_exiting() -> None:
    """Drop this worker's live gauges, so that a stopped worker's last values stop counting."""
    if multiprocess():
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
