"""The `videohooks` command line.

Exit codes scripts can rely on: 0 success, 1 the work ran but something failed (a replayed delivery
was refused, ...), 2 bad usage or configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer
from redis.exceptions import RedisError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from receiver import heap
from receiver.archive_cli import archive_app
from receiver.config import Config, ConfigError, find_config_path, load_config
from receiver.errors import CannotSign, RedisUnavailable
from receiver.fixtures import FixtureError, load_fixture, load_fixtures
from schemas.event import event_to_json

if TYPE_CHECKING:
    from receiver.dlq import DeadLetters
    from receiver.pipeline import Pipeline

T = TypeVar("T")

app = typer.Typer(
    name="videohooks",
    help="Verified, typed, exactly-once webhook receiver for video-AI providers, writing to Redis Streams."
    "\n\n"
    "Exit codes: 0 ok; 1 the command ran but something failed (a refused delivery, a failed check);"
    " 2 bad usage or configuration.\n\n"
    "Example: [bold]videohooks doctor --config videohooks.toml[/bold]",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
schemas_app = typer.Typer(
    help="The canonical event's JSON Schema.\n\nExample: [bold]videohooks schemas export[/bold]",
    no_args_is_help=True,
)
app.add_typer(schemas_app, name="schemas")
dlq_app = typer.Typer(
    help="Quarantined deliveries: list, show, redrive.\n\nExample: [bold]videohooks dlq list[/bold]",
    no_args_is_help=True,
)
app.add_typer(dlq_app, name="dlq")
app.add_typer(archive_app, name="archive")

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
        int, typer.Option(min=1, help="Worker processes (needs [redis] url or sentinel when above 1).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the callback endpoints.

    Example: [bold]videohooks serve --config videohooks.toml --host 0.0.0.0 --port 8080 --workers 2[/bold]
    """
    import uvicorn

    path = find_config_path(config).resolve()
    loaded = _config(path)
    if workers > 1 and loaded.redis.embedded:
        raise fail("--workers above 1 needs \\[redis] url or sentinel: the embedded Redis serves one process")
    os.environ["VIDEOHOOKS_CONFIG"] = str(path)
    os.environ["VIDEOHOOKS_LOG_LEVEL"] = log_level
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        # Nothing reads the client's address (no access log; rate limits are per source): uvicorn's
        # X-Forwarded-* middleware would be a step on every request for nobody.
        "proxy_headers": False,
        "log_level": log_level,
        "timeout_graceful_shutdown": 30,
    }
    if workers == 1:
        # One process, no supervisor: this process is the server, and exits 0 after a clean stop.
        from receiver.server import GracefulServer, create_app_from_env

        GracefulServer(uvicorn.Config(create_app_from_env(), **options)).run()
        return
    with worker_metrics_dir():
        uvicorn.run("receiver.server:create_app_from_env", factory=True, workers=workers, **options)


@contextmanager
def worker_metrics_dir() -> Iterator[None]:
    """With several workers, a fresh directory for prometheus-client's multiprocess files, named in
    the environment before any worker starts and removed after the last one stopped; stale files from
    an earlier run would otherwise be counted again."""
    from receiver.metrics import MULTIPROC_DIR_ENV

    with tempfile.TemporaryDirectory(prefix="videohooks-metrics-") as directory:
        os.environ[MULTIPROC_DIR_ENV] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROC_DIR_ENV]


@app.command("check-config")
def check_config(config: ConfigOption = None) -> None:
    """Load and validate the configuration; exit 2 with every problem named if it is not usable.

    Example: [bold]videohooks check-config --config videohooks.toml[/bold]
    """
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
    heap.freeze_long_lived()

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


@app.command()
def watch(
    source_id: Annotated[str, typer.Argument(help="A source whose provider has a task API.")],
    task_id: Annotated[str, typer.Argument(help="The provider's task (or video) id.")],
    config: ConfigOption = None,
    redis_url: Annotated[str | None, typer.Option(help="Overrides [redis] url.")] = None,
) -> None:
    """Watch a task: a running receiver polls it until a final status (a poll-only source's at once, a
    callback source's only if its callbacks bring no final status within `reconcile_after_seconds`).

    The watch is a job in Redis, so this needs no receiver running; registering twice changes nothing.

    Example: [bold]videohooks watch veo-relay 83319f9e-1c2d-4e5f-9a0b-5c6d7e8f9a0b[/bold]
    """
    import time

    from pydantic import ValidationError

    from receiver.connection import open_pipeline
    from receiver.jobs import JobQueue
    from receiver.pipeline import summarize_errors
    from receiver.poll import WatchRequest, unwatchable
    from receiver.poll import watch as register

    loaded = _config(config)
    source = loaded.source(source_id)
    if source is None:
        raise fail(f"no source {source_id!r} in the configuration")
    problem = unwatchable(source)
    if problem is not None:
        raise fail(problem)
    try:
        WatchRequest(task_id=task_id)
    except ValidationError as exc:
        raise fail(f"task id {task_id!r} is not valid: {summarize_errors(exc)}") from None

    async def run() -> bool:
        async with open_pipeline(loaded, redis_url) as (redis, _):
            return await register(JobQueue(redis, loaded.redis.prefix), source, task_id, time.time())

    try:
        created = asyncio.run(run())
    except RedisUnavailable as exc:
        raise fail(str(exc), 1) from None
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
    redis_url: Annotated[str | None, typer.Option(help="Overrides [redis] url.")] = None,
) -> None:
    """Print what the receiver knows of a task as JSON: statuses published, final or not, its watch.

    Exit 1 when nothing is known of it (or Redis cannot be read).

    Example: [bold]videohooks task veo-relay 83319f9e-1c2d-4e5f-9a0b-5c6d7e8f9a0b[/bold]
    """
    from receiver.connection import open_pipeline
    from receiver.jobs import JobQueue
    from receiver.taskrecord import TaskRecord, read_task

    loaded = _config(config)
    if loaded.source(source_id) is None:
        raise fail(f"no source {source_id!r} in the configuration")

    async def run() -> TaskRecord | None:
        async with open_pipeline(loaded, redis_url) as (redis, pipeline):
            queue = JobQueue(redis, loaded.redis.prefix)
            return await read_task(redis, pipeline.publisher.keys, queue, source_id, task_id)

    try:
        record = asyncio.run(run())
    except (RedisUnavailable, RedisError, OSError) as exc:
        raise fail(f"redis: {exc.__class__.__name__}: {exc}", 1) from None
    if record is None:
        raise fail(f"nothing is known of task {task_id!r} of {source_id!r}", 1)
    sys.stdout.write(orjson.dumps(record.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n")


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
            sys.stdout.buffer.write(event_to_json(event) + b"\n")
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
    """List quarantined deliveries (every partition), without their bodies.

    Example: [bold]videohooks dlq list --source memories-main --json[/bold]
    """
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
    """Print one quarantined delivery as JSON: reason, detail, kept headers and the exact body.

    Example: [bold]videohooks dlq show 1763761036123-0[/bold]
    """
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

    Examples:
      [bold]videohooks dlq redrive --all[/bold]
      [bold]videohooks dlq redrive 1763761036123-0 --delete[/bold]
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
    version: Annotated[
        int, typer.Option("--version", "-v", min=1, max=2, help="The event version: 1 or 2.")
    ] = 2,
) -> None:
    """Print (or write) the JSON Schema of the canonical event, version 2 (or 1).

    Example: [bold]videohooks schemas export --version 2 --output schemas/event.v2.schema.json[/bold]
    """
    from schemas.event import event_json_schema

    schema = event_json_schema(1 if version == 1 else 2)
    text = orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    if output is None:
        sys.stdout.buffer.write(text)
    else:
        output.write_bytes(text)


@app.command()
def sources(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array on stdout, for scripts.")] = False,
) -> None:
    """List the configured sources, secrets masked.

    Shows each source's provider, verification scheme, the callback path to register with the provider
    (a url-token masked in it), its secrets masked with how many are active, and whether API credentials
    (for fetching and polling) are set.

    Example: [bold]videohooks sources --config videohooks.toml --json[/bold]
    """
    from receiver.inventory import inventory

    views = inventory(_config(config))
    if as_json:
        sys.stdout.buffer.write(orjson.dumps([item.as_json() for item in views]) + b"\n")
        return
    table = Table(title=f"{len(views)} source(s)")
    for column in ("id", "provider", "verify", "callback path", "secrets", "api credentials"):
        table.add_column(column, overflow="fold")
    for item in views:
        table.add_row(
            item.id,
            item.provider,
            item.verify,
            item.callback_path or "(poll only)",
            item.secrets,
            "yes" if item.api_credentials else "no",
        )
    Console(soft_wrap=True).print(table)


@app.command()
def sign(
    fixture: Annotated[Path, typer.Argument(help="A fixture file (see fixtures/) holding the delivery.")],
    url: Annotated[
        str, typer.Option("--url", help="Base URL of the receiver, e.g. https://hooks.example.com.")
    ],
    source: Annotated[
        str | None, typer.Option(help="Source id to deliver to (default: the fixture's own).")
    ] = None,
    body_file: Annotated[
        Path | None,
        typer.Option(help="Write the exact body here and have curl read it, instead of inlining it."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print a curl command that delivers FIXTURE, signed as the provider would.

    The signature uses the source's current (first) secret and the current time: run the command
    within the source's tolerance_seconds. curl exits 22 when the receiver refuses the delivery.

    The command carries a valid signature (and, for url-token sources, the token itself):
    treat it as a secret.

    Example: [bold]videohooks sign fixtures/memories/success.json --url http://127.0.0.1:8080 | bash[/bold]
    """
    import time

    from receiver.curl import curl_command
    from receiver.inventory import callback_path
    from receiver.replay import ReplayError, source_for
    from receiver.verifiers import verifier_for

    loaded = _config(config)
    try:
        delivery = load_fixture(fixture)
        target = source_for(loaded, delivery, source)
    except (FixtureError, ReplayError) as exc:
        raise fail(str(exc)) from None
    if callback_path(target) is None:
        raise fail(f"source {target.id!r} is poll-only: it takes no callbacks to sign")
    if delivery.kind == "resource":
        raise fail(f"{fixture} is the provider API's task object, not a callback: nothing to sign")
    try:
        signed = verifier_for(target).sign(delivery.body, time.time(), delivery.delivery_id)
    except CannotSign as exc:
        raise fail(str(exc)) from None
    endpoint = f"{url.rstrip('/')}/v1/callbacks/{target.id}{signed.path_suffix}"
    if body_file is not None:
        body_file.write_bytes(delivery.body)
    print(curl_command(endpoint, signed.headers, delivery.body, body_file))


@app.command()
def doctor(
    config: ConfigOption = None,
    redis_url: Annotated[str | None, typer.Option(help="Check this Redis instead of [redis] url.")] = None,
) -> None:
    """Check config, Redis, clock skew, and stream and consumer-group health.

    Checks that the config is valid, Redis reachable and writable (a probe key is written and deleted),
    this host's clock close to Redis TIME (warn above 1 s, fail beyond a source's tolerance), and shows
    every event and dead-letter stream with its consumer groups (pending, lag).

    Prints one line per check (ok, warn or fail). Exit 0 when nothing failed (warnings included),
    1 when a check failed, 2 when the configuration cannot be loaded.

    Example: [bold]videohooks doctor --config videohooks.toml[/bold]
    """
    from receiver.doctor import Check, diagnose

    out = Console(soft_wrap=True, highlight=False)
    styles = {"ok": "green", "warn": "yellow", "fail": "red"}

    def show(check: Check) -> None:
        line = f"{check.level:<4}[/] {escape(check.name)}: {escape(check.detail)}"
        out.print(f"[{styles[check.level]}]{line}", markup=True)

    try:
        loaded = load_config(config)
    except ConfigError as exc:
        show(Check("fail", "config", str(exc)))
        raise typer.Exit(2) from None
    checks = asyncio.run(diagnose(loaded, redis_url))
    for check in checks:
        show(check)
    if any(check.level == "fail" for check in checks):
        raise typer.Exit(1)


def main() -> None:
    app()
