"""`videohooks archive restore`: archived events back into a stream (registered by receiver/cli.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from redis.exceptions import RedisError
from rich.console import Console

from receiver.config import ConfigError, load_config
from receiver.errors import ArchiveUnavailable, RedisUnavailable

archive_app = typer.Typer(
    help="The retention archive ([redis.retention] archive).\n\n"
    "Example: [bold]videohooks archive restore --stream videohooks:events[/bold]",
    no_args_is_help=True,
)
console = Console(stderr=True, soft_wrap=True, highlight=False)


def _moment(option: str, text: str | None) -> datetime | None:
    """An RFC 3339 time (`2026-12-07T03:00:00Z`); a time without offset is taken as UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        console.print(f"[red]error:[/red] {option} {text!r} is not an RFC 3339 time (2026-12-07T03:00:00Z)")
        raise typer.Exit(2) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@archive_app.command("restore")
def restore(
    stream: Annotated[str, typer.Option("--stream", help="The stream whose archived entries to restore.")],
    since: Annotated[str | None, typer.Option(help="Only entries written at or after (RFC 3339).")] = None,
    until: Annotated[str | None, typer.Option(help="Only entries written at or before (RFC 3339).")] = None,
    to_stream: Annotated[str | None, typer.Option(help="Add them here (default: --stream).")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (default: $VIDEOHOOKS_CONFIG).")
    ] = None,
    redis_url: Annotated[str | None, typer.Option(help="Overrides [redis] url.")] = None,
) -> None:
    """Re-add archived events to a stream (new entry ids, the same event JSON) and print how many.

    Entries still in the stream (archived just before a trim that did not happen) are left out.
    Consumers see restored events as new entries: they handle them idempotently, by event_id.

    Example: [bold]videohooks archive restore --stream videohooks:events --since 2026-12-05T00:00:00Z[/bold]
    """
    from receiver.archive import Archive
    from receiver.archive import restore as restore_entries
    from receiver.connection import open_pipeline

    try:
        loaded = load_config(config)
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    settings = loaded.redis.retention.archive
    if settings is None:
        console.print("[red]error:[/red] the configuration has no [redis.retention] archive")
        raise typer.Exit(2)
    low, high = _moment("--since", since), _moment("--until", until)

    async def run() -> int:
        async with open_pipeline(loaded, redis_url) as (redis, _):
            return await restore_entries(redis, Archive(settings), stream, low, high, to_stream)

    try:
        count = asyncio.run(run())
    except (ArchiveUnavailable, RedisUnavailable, RedisError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc.__class__.__name__}: {exc}")
        raise typer.Exit(1) from None
    typer.echo(f"restored {count} event{'s' if count != 1 else ''} to {to_stream or stream}")
