"""The `videohooks` command line.

Exit codes scripts can rely on: 0 success, 1 the work ran but something failed (a replayed delivery
was refused, ...), 2 bad usage or configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer
from redis.exceptions import RedisError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from receiver.config import Config, ConfigError, find_config_path, load_config
from receiver.fixtures import FixtureError, load_fixtures
from receiver.publisher import RedisUnavailable

if TYPE_CHECKING:
    from receiver.dlq import DeadLetters
    from receiver.pipeline import Pipeline

T = TypeVar("T")

app = typer.Typer(
    name="videohooks",
    help="Verified, typed, exactly-once webhook receiver for video-AI providers, writing to Redis Streams.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
schemas_app = typer.Typer(help="The canonical event's JSON Schema.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
dlq_app = typer.Typer(help="Quarantined deliveries: list, show, redrive.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")

console = Console(stderr=True, soft_wrap=True, highlight=False)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error for a person and return the exit to raise: `raise fail(...)`."""
    console.print(f"[red]error:[/red] {message}", markup=True)
    return typer.Exit(code)


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $VIDEOHOOKS_CONFIG, then ./videohooks.toml)."),
]


def _config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise fail(str(exc)) from None


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (needs [redis] url when above 1).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the callback endpoints.

    Example: [bold]videohooks serve --config videohooks.toml --host 0.0.0.0 --port 8080 --workers 2[/bold]
    """
    import uvicorn

    path = find_config_path(config).resolve()
    loaded = _config(path)
    if workers > 1 and loaded.redis.url is None:
        raise fail("--workers above 1 needs \\[redis] url: the embedded Redis serves one process")
    os.environ["VIDEOHOOKS_CONFIG"] = str(path)
    os.environ["VIDEOHOOKS_LOG_LEVEL"] = log_level
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "log_level": log_level,
        "timeout_graceful_shutdown": 30,
    }
    if workers == 1:
        # One process: the app is built here so that the server's signal handler can flip its readiness.
        from receiver.server import GracefulServer, create_app_from_env

        asgi = create_app_from_env()
        GracefulServer(uvicorn.Config(asgi, **options), asgi, loaded.server.shutdown_delay_seconds).run()
        return
    uvicorn.run("receiver.server:create_app_from_env", factory=True, workers=workers, **options)


@app.command("check-config")
def check_config(config: ConfigOption = None) -> None:
    """Load and validate the configuration; exit 2 with every problem named if it is not usable."""
    loaded = _config(config)
    console.print(f"ok: {len(loaded.sources)} source(s)")


@app.command()
def replay(
    paths: Annotated[list[Path], typer.Argument(help="Fixture files or directories (searched for *.json).")],
    to: Annotated[str | None, typer.Option("--to", help="Base URL of a running receiver.")] = None,
    direct: Annotated[
        bool, typer.Option("--direct", help="Publish through the pipeline, without HTTP.")
    ] = False,
    source: Annotated[str | None, typer.Option(help="Send every fixture to this source id.")] = None,
    config: ConfigOption = None,
    redis_url: Annotated[str | None, typer.Option(help="With --direct: overrides [redis] url.")] = None,
) -> None:
    """Send stored deliveries to a receiver (signed now, with the source's current secret) or, with
    --direct, straight into Redis through the same pipeline.

    Examples:
      [bold]videohooks replay fixtures/memories --to http://127.0.0.1:8080[/bold]
      [bold]videohooks replay fixtures/ --direct --config videohooks.toml[/bold]
    """
    from receiver.replay import SETTLED_OUTCOMES, ReplayError, replay_direct, replay_http, summarize

    if (to is None) == (not direct):
        raise fail("give exactly one of --to URL or --direct")
    loaded = _config(config)
    try:
        fixtures = load_fixtures(paths)
    except FixtureError as exc:
        raise fail(str(exc)) from None

    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
    ) as bar:
        task = bar.add_task("replay", total=len(fixtures))

        def advance(_outcome: str) -> None:
            bar.advance(task)

        try:
            if direct:
                results = asyncio.run(
                    replay_direct(
                        loaded, fixtures, source_override=source, redis_url=redis_url, progress=advance
                    )
                )
            else:
                assert to is not None
                results = asyncio.run(
                    replay_http(loaded, fixtures, to, source_override=source, progress=advance)
                )
        except ReplayError as exc:
            raise fail(str(exc)) from None

    counts = summarize(results)
    table = Table(title=f"{len(results)} deliveries replayed")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for outcome, count in sorted(counts.items()):
        table.add_row(outcome, str(count))
    Console().print(table)
    failed = [result for result in results if result.outcome not in SETTLED_OUTCOMES]
    for result in failed[:20]:
        console.print(f"  {result.fixture.path}: {result.outcome}")
    if failed:
        raise typer.Exit(1)


RedisUrlOption = Annotated[str | None, typer.Option(help="Overrides [redis] url.")]
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
    from receiver.connection import open_pipeline
    from receiver.subscriber import Received, Subscriber, follow

    loaded = _config(config)
    out = Console(soft_wrap=True, highlight=False)
    # A blocking read must end before the command timeout does.
    block_ms = max(1, int(loaded.redis.timeout_seconds * 500))

    def show(received: Received) -> None:
        event = received.event
        if json_lines:
            sys.stdout.write(event.model_dump_json() + "\n")
            sys.stdout.flush()
            return
        style = STATUS_STYLES.get(event.status, "cyan")
        text = (event.error.message if event.error else event.text or "")[:80]
        out.print(
            f"{received.entry_id} [bold]{event.source}[/bold] {event.task_id}"
            f" [{style}]{event.status}[/{style}] {event.task_type} {event.model or '-'} {text!r}",
            markup=True,
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
            async for received in stream:
                if source is None or received.event.source == source:
                    show(received)
                    shown += 1
                if subscriber is not None:
                    await subscriber.ack(received)
                if count is not None and shown >= count:
                    return

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
    except (RedisError, OSError) as exc:
        raise fail(f"redis: {exc.__class__.__name__}: {exc}", 1) from None


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(min=1, help="At most this many entries, oldest first.")] = 50,
    source: Annotated[str | None, typer.Option(help="Only entries of this source id.")] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    config: ConfigOption = None,
    redis_url: RedisUrlOption = None,
) -> None:
    """List quarantined deliveries (every partition), without their bodies."""
    letters = asyncio.run(_with_dead_letters(config, redis_url, lambda d, _c, _p: d.oldest(limit, source)))
    if json_lines:
        for letter in letters:
            sys.stdout.write(orjson.dumps(letter.summary()).decode() + "\n")
        return
    table = Table(title=f"{len(letters)} dead letter(s)")
    for column in ("entry id", "source", "reason", "received at", "size", "redriven", "detail"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            letter.entry_id,
            letter.source,
            letter.reason,
            letter.received_at,
            str(len(letter.body)),
            letter.redriven or "",
            letter.detail[:80],
        )
    Console(soft_wrap=True).print(table)


@dlq_app.command("show")
def dlq_show(
    entry_id: Annotated[str, typer.Argument(help="The entry id, as `dlq list` shows it.")],
    config: ConfigOption = None,
    redis_url: RedisUrlOption = None,
) -> None:
    """Print one quarantined delivery as JSON: reason, detail, kept headers and the exact body."""
    letter = asyncio.run(_with_dead_letters(config, redis_url, lambda d, _c, _p: d.get(entry_id)))
    if letter is None:
        raise fail(f"no dead letter {entry_id!r}", 1)
    sys.stdout.write(orjson.dumps(letter.full(), option=orjson.OPT_INDENT_2).decode() + "\n")


@dlq_app.command("redrive")
def dlq_redrive(
    entry_ids: Annotated[list[str] | None, typer.Argument(help="Entry ids to redrive.")] = None,
    all_entries: Annotated[bool, typer.Option("--all", help="Every entry not redriven yet.")] = False,
    delete: Annotated[
        bool, typer.Option("--delete", help="Remove each entry once its event is published.")
    ] = False,
    config: ConfigOption = None,
    redis_url: RedisUrlOption = None,
) -> None:
    """Run quarantined deliveries through the current schemas and publish what now decodes.

    Idempotent: an event already published answers `duplicate`. Entries that still do not decode
    stay where they are. Exit 1 when any entry was not published.
    """
    if bool(entry_ids) == all_entries:
        raise fail("give entry ids or --all (not both)")
    results = asyncio.run(
        _with_dead_letters(
            config, redis_url, lambda d, c, p: d.redrive(c, p, None if all_entries else entry_ids, delete)
        )
    )
    table = Table(title=f"{len(results)} entr{'y' if len(results) == 1 else 'ies'} redriven")
    for column in ("entry id", "source", "outcome", "event id", "detail"):
        table.add_column(column)
    for result in results:
        table.add_row(
            result.entry_id, result.source, result.outcome, result.event_id or "", result.detail or ""
        )
    Console(soft_wrap=True).print(table)
    if any(result.outcome not in ("accepted", "duplicate", "stale") for result in results):
        raise typer.Exit(1)


async def _with_dead_letters(
    config: Path | None,
    redis_url: str | None,
    action: Callable[[DeadLetters, Config, Pipeline], Awaitable[T]],
) -> T:
    """Open Redis and the pipeline as the receiver does, run `action(dead_letters, config, pipeline)`."""
    from receiver.connection import open_pipeline
    from receiver.dlq import DeadLetters

    loaded = _config(config)
    try:
        async with open_pipeline(loaded, redis_url) as (redis, pipeline):
            return await action(DeadLetters(redis, pipeline.publisher.keys), loaded, pipeline)
    except (RedisUnavailable, RedisError, OSError) as exc:
        raise fail(f"redis: {exc.__class__.__name__}: {exc}", 1) from None


@schemas_app.command("export")
def schemas_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print (or write) the JSON Schema of the canonical event, version 1."""
    from schemas.event import event_json_schema

    text = orjson.dumps(event_json_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    if output is None:
        sys.stdout.buffer.write(text)
    else:
        output.write_bytes(text)


def main() -> None:
    app()
