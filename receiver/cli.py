"""The `videohooks` command line.

Exit codes scripts can rely on: 0 success, 1 the work ran but something failed (a replayed delivery
was refused, ...), 2 bad usage or configuration.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from receiver.config import Config, ConfigError, find_config_path, load_config
from receiver.fixtures import FixtureError, load_fixtures

app = typer.Typer(
    name="videohooks",
    help="Verified, typed, exactly-once webhook receiver for video-AI providers, writing to Redis Streams.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
schemas_app = typer.Typer(help="The canonical event's JSON Schema.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")

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
    with worker_metrics_dir(workers):
        uvicorn.run(
            "receiver.server:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level=log_level,
            timeout_graceful_shutdown=30,
        )


@contextmanager
def worker_metrics_dir(workers: int) -> Iterator[None]:
    """With several workers, a fresh directory for prometheus-client's multiprocess files, named in
    the environment before any worker starts and removed after the last one stopped; stale files from
    an earlier run would otherwise be counted again."""
    if workers == 1:
        yield
        return
    from receiver.metrics import MULTIPROC_DIR_ENV

    with tempfile.TemporaryDirectory(prefix="videohooks-metrics-") as directory:
        os.environ[MULTIPROC_DIR_ENV] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROC_DIR_ENV]


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
