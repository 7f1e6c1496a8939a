"""`videohooks watch`, `task` and `tail`: a task's watch and record, and the events as they are published."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import Annotated

import orjson
import typer
from rich.text import Text

from receiver.cli.common import (
    ConfigOption,
    RedisUrlOption,
    app,
    console,
    fail,
    open_config,
    output,
    reported,
)
from schemas.event import event_to_json


@app.command()
def watch(
    source_id: Annotated[str, typer.Argument(help="A source whose provider has a task API.")],
    task_id: Annotated[str, typer.Argument(help="The provider's task (or video) id.")],
    config: ConfigOption = None,
    redis_url: RedisUrlOption = None,
    task_type: Annotated[
        str | None,
        typer.Option(help="The kind of task, for a provider with several (twelvelabs: analysis, indexing)."),
    ] = None,
) -> None:
    """Watch a task: a running receiver polls it until a final status (a poll-only source's at once, a
    callback source's only if its callbacks bring no final status within `reconcile_after_seconds`).

    The watch is a job in Redis, so this needs no receiver running; registering twice changes nothing.

    Example: [bold]videohooks watch veo-relay 83319f9e-1c2d-4e5f-9a0b-5c6d7e8f9a0b[/bold]
    """
    import time

    from pydantic import ValidationError

    from receiver.core.decoding import summarize_errors
    from receiver.core.jobs import JobQueue
    from receiver.flow.poll import WatchRequest, unwatchable, watch_type_problem
    from receiver.flow.poll import watch as register
    from receiver.wiring.connection import open_pipeline

    loaded = open_config(config)
    source = loaded.source(source_id)
    if source is None:
        raise fail(f"no source {source_id!r} in the configuration")
    problem = unwatchable(source)
    if problem is not None:
        raise fail(problem)
    try:
        asked = {"task_id": task_id} if task_type is None else {"task_id": task_id, "task_type": task_type}
        wanted = WatchRequest.model_validate(asked)
    except ValidationError as exc:
        raise fail(f"task {task_id!r} is not valid: {summarize_errors(exc)}") from None
    problem = watch_type_problem(source, wanted.task_type)
    if problem is not None:
        raise fail(problem)

    async def run() -> bool:
        async with open_pipeline(loaded, redis_url) as (redis, _):
            queue = JobQueue(redis, loaded.redis.prefix)
            return await register(queue, source, task_id, time.time(), task_type=wanted.task_type)

    with reported():
        created = asyncio.run(run())
    if created:
        console.print(
            f"watching {task_id} of {source_id}: polled every {source.poll_interval_seconds:g} s at first, "
            f"until a final status or {source.deadline_seconds:g} s from now"
        )
    else:
        console.print(f"already watching {task_id} of {source_id}: nothing changed")


@app.command()
def task(
    source_id: Annotated[str, typer.Argument(help="A source of the config.")],
    task_id: Annotated[str, typer.Argument(help="The provider's task (or video) id.")],
    config: ConfigOption = None,
    redis_url: RedisUrlOption = None,
) -> None:
    """Print what the receiver knows of a task as JSON: statuses published, final or not, its watch,
    and the events held back (accepted, waiting for an asset copy or a fetch).

    Exit 1 when nothing is known of it (or Redis cannot be read).

    Example: [bold]videohooks task veo-relay 83319f9e-1c2d-4e5f-9a0b-5c6d7e8f9a0b[/bold]
    """
    from receiver.core.jobs import JobQueue
    from receiver.services.taskrecord import TaskRecord, read_task
    from receiver.wiring.connection import open_pipeline

    loaded = open_config(config)
    source = loaded.source(source_id)
    if source is None:
        raise fail(f"no source {source_id!r} in the configuration")

    async def run() -> TaskRecord | None:
        async with open_pipeline(loaded, redis_url) as (redis, pipeline):
            queue = JobQueue(redis, loaded.redis.prefix)
            return await read_task(
                redis,
                pipeline.publisher.keys,
                queue,
                source_id,
                task_id,
                fetch_deadline_seconds=source.fetch_deadline_seconds,
            )

    with reported():
        record = asyncio.run(run())
    if record is None:
        raise fail(f"nothing is known of task {task_id!r} of {source_id!r}", 1)
    sys.stdout.write(orjson.dumps(record.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n")


STATUS_STYLES = {"succeeded": "green", "failed": "red", "canceled": "yellow", "suspended": "yellow"}


@app.command()
def tail(
    group: Annotated[
        str | None, typer.Option(help="Read as this consumer group (created if missing) and ack.")
    ] = None,
    consumer: Annotated[str, typer.Option(help="Consumer name within --group.")] = f"tail-{os.getpid()}",
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Without --group: begin with the oldest retained event.")
    ] = False,
    json_lines: Annotated[bool, typer.Option("--json", help="One canonical event (JSON) per line.")] = False,
    source: Annotated[str | None, typer.Option(help="Only events of this source id.")] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many events.")] = None,
    config: ConfigOption = None,
    redis_url: RedisUrlOption = None,
) -> None:
    """Follow the events streams (every partition).

    Without --group nothing is recorded in Redis (XREAD, from now or --from-start); with --group the
    group's consumers share the events and each is acked once printed (at least once: a tail killed
    before its ack leaves the event pending, and another consumer of the group reclaims it).

    Examples:
      [bold]videohooks tail --from-start --count 10[/bold]
      [bold]videohooks tail --group audit --json --source openai-main[/bold]
    """
    from receiver.services.subscriber import Received, Subscriber, follow
    from receiver.wiring.connection import open_pipeline

    loaded = open_config(config)
    out = output()
    # A blocking read must end before the command timeout does.
    block_ms = max(1, int(loaded.redis.timeout_seconds * 500))

    def show(received: Received) -> None:
        event = received.event
        if json_lines:
            sys.stdout.buffer.write(event_to_json(event) + b"\n")
            sys.stdout.flush()
            return
        text = (event.error.message if event.error else event.text or "")[:80]
        out.print(
            Text.assemble(
                f"{received.entry_id} ",
                (event.source, "bold"),
                f" {event.task_id} ",
                (event.status, STATUS_STYLES.get(event.status, "cyan")),
                f" {event.task_type} {event.model or '-'} {text!r}",
            )
        )

    async def run() -> None:
        shown = 0
        async with open_pipeline(loaded, redis_url) as (redis, pipeline):
            keys = pipeline.publisher.keys
            subscriber = (
                None if group is None else Subscriber(redis, keys, group, consumer, block_ms=block_ms)
            )
            stream = (
                follow(redis, keys, from_start=from_start, block_ms=block_ms)
                if subscriber is None
                else subscriber.events()
            )
            try:
                async for received in stream:
                    if source is None or received.event.source == source:
                        show(received)
                        shown += 1
                    if subscriber is not None:
                        await subscriber.ack(received)
                    if count is not None and shown >= count:
                        return
            finally:
                if subscriber is not None:
                    await subscriber.leave()

    with reported(), contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
