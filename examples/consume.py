"""Read videohooks events with a Redis consumer group: plain redis-py, nothing of videohooks installed.

    python examples/consume.py --redis redis://127.0.0.1:6379/0 --group my-service --consumer worker-1

Each service that needs the events reads them through its own consumer group; the workers of one
service share the group, each under its own consumer name, and Redis hands every entry to one of them.
An entry is acknowledged (XACK) only after the code that used it has finished, so a worker that dies
mid-way gets it again when it restarts: delivery is at least once, and `event_id` (the same for every
delivery of one source, task and status) is the key to make processing idempotent.

Events come in version 2 (or version 1, with `[events] version = 1` in the receiver's config): the
stream entry's `schema_version` field and the event's own say which. `assets()` gives the assets in the
version 2 shape either way, so a consumer written for version 2 also reads version 1.

With `partitions` above 1 (or a Redis Cluster) the events are spread over several streams,
`videohooks:events:{0}`, `videohooks:events:{1}`, ...: pass each with `--stream`.

When the receiver traces (`[telemetry] otlp_endpoint`), each entry has a `traceparent` field: the W3C
trace context of the delivery that published it. `handling()` opens the consumer's span in that trace
with the OpenTelemetry API (`pip install opentelemetry-api`, plus the SDK and an exporter to send the
spans anywhere); without the API installed it does nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

import redis

try:
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # tracing is optional: the events are the same without it
    trace = None  # type: ignore[assignment]


def ensure_group(client: redis.Redis, stream: str, group: str) -> None:
    """Create the group at the start of the stream (a new service sees the history), once."""
    try:
        client.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def entries(
    client: redis.Redis,
    streams: Sequence[str],
    group: str,
    consumer: str,
    *,
    block_ms: int = 5000,
    count: int = 100,
    stop_when_idle: bool = False,
) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Yield (canonical event, traceparent or None); each is acknowledged when the caller asks for the next.

    First the entries this consumer was given before and never acknowledged (it crashed while using
    them), then new ones. `stop_when_idle` returns once nothing arrives for `block_ms` (a batch job);
    without it the generator waits for events forever (a service).
    """
    for stream in streams:
        ensure_group(client, stream, group)
    cursor = "0"  # "0": this consumer's unacknowledged entries; ">": entries never given to anyone
    while True:
        # [[stream, [(entry_id, {field: value}), ...]], ...]; redis-py's sync API does not type it.
        reply: Any = client.xreadgroup(
            group, consumer, dict.fromkeys(streams, cursor), count=count, block=block_ms
        )
        entries = [(stream, entry_id, fields) for stream, batch in reply or [] for entry_id, fields in batch]
        if not entries:
            if cursor == "0":
                cursor = ">"
                continue
            if stop_when_idle:
                return
            continue
        for stream, entry_id, fields in entries:
            if fields:  # an unacknowledged entry trimmed from the stream since comes back without fields
                traceparent = fields.get(b"traceparent")
                yield json.loads(fields[b"event"]), traceparent.decode() if traceparent else None
            client.xack(stream, group, entry_id)


# What version 2 adds to each asset: the stored copy's details, and the provider's URL.
V2_ASSET_FIELDS = ("source_url", "content_type", "bytes", "sha256")


def assets(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event's assets in the version 2 shape: a version 1 asset has its URL as `source_url` and no
    copy details (null), which is what the receiver publishes in version 2 for an asset it did not copy."""
    if event["schema_version"] >= 2:
        return list(event["assets"])
    return [
        {**asset, **dict.fromkeys(V2_ASSET_FIELDS), "source_url": asset["url"]} for asset in event["assets"]
    ]


def events(
    client: redis.Redis, streams: Sequence[str], group: str, consumer: str, **options: Any
) -> Iterator[dict[str, Any]]:
    """`entries()` without the trace context: the canonical events alone, acknowledged the same way."""
    for event, _traceparent in entries(client, streams, group, consumer, **options):
        yield event


def handling(traceparent: str | None) -> contextlib.AbstractContextManager[Any]:
    """The span of handling one event, a child of the receiver's span that published it.

    Spans opened inside it (database writes, HTTP calls of an instrumented client) join the same trace,
    so the trace of a provider's callback runs on into this consumer.
    """
    if trace is None:
        return contextlib.nullcontext()
    parent = TraceContextTextMapPropagator().extract({"traceparent": traceparent} if traceparent else {})
    tracer = trace.get_tracer("videohooks-consumer")
    return tracer.start_as_current_span("handle event", context=parent, kind=trace.SpanKind.CONSUMER)


def main() -> None:
    parser = argparse.ArgumentParser(description="Print videohooks events as they arrive.")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    parser.add_argument("--stream", action="append", help="stream key (repeat for partitions)")
    parser.add_argument("--group", default="example", help="consumer group: one per service")
    parser.add_argument("--consumer", default="worker-1", help="this worker's name within the group")
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis)
    streams = args.stream or ["videohooks:events"]
    for event, traceparent in entries(client, streams, args.group, args.consumer):
        with handling(traceparent):
            usage = event["usage"]
            print(
                f"{event['received_at']} {event['source']} {event['task_id']} {event['status']}"
                f" model={event['model']} tokens={usage['input_tokens']}/{usage['output_tokens']}"
            )
            for asset in assets(event):
                copied = f" sha256={asset['sha256']} bytes={asset['bytes']}" if asset["sha256"] else ""
                print(f"  {asset['kind']}: {asset['url']}{copied}")


if __name__ == "__main__":
    main()
