"""`videohooks archive restore`: archived events back into a stream (`[redis.retention] archive`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

from receiver.cli.common import ConfigOption, RedisUrlOption, app, fail, open_config, reported

archive_app = typer.Typer(
    help="The retention archive ([redis.retention] archive).\n\n"
    "Example: [bold]videohooks archive restore --stream videohooks:events[/bold]",
    no_args_is_help=True,
)
app.add_typer(archive_app, name="archive")


def _moment(option: str, text: str | None) -> datetime | None:
    """An RFC 3339 time (`2026-12-07T03:00:00Z`); a time without offset is taken as UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} is not an RFC 3339 time (2026-12-07T03:00:00Z)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@archive_app.command("restore")
def restore(
    stream: Annotated[str, typer.Option("--stream", help="The stream whose archived entries to restore.")],
    since: Annotated[str | None, typer.Option(help="Only entries written at or after (RFC 3339).")] = None,
    until: Annotated[str | None, typer.Option(help="Only entries written at or before (RFC 3339).")] = None,
    to_stream: Annotated[str | None, typer.Option(help="Add them here (default: --stream).")] = None,
    config: ConfigOption = None,
    redis_url: RedisUrlOption = None,
) -> None:
    """Re-add archived events to a stream (new entry ids, the same event JSON) and print how many.

    Entries still in the stream (archived just before a trim that did not happen) are left out.
    Consumers see restored events as new entries: they handle them idempotently, by event_id.

    Example: [bold]videohooks archive restore --stream videohooks:events --since 2026-12-05T00:00:00Z[/bold]
    """
    from receiver.services.archive import Archive
    from receiver.services.archive import restore as restore_entries
    from receiver.wiring.connection import open_pipeline

    loaded = open_config(config)
    settings = loaded.redis.retention.archive
    if settings is None:
        raise fail("the configuration has no [redis.retention] archive")
    low, high = _moment("--since", since), _moment("--until", until)

    async def run() -> int:
        async with open_pipeline(loaded, redis_url) as (redis, _):
            return await restore_entries(redis, Archive(settings), stream, low, high, to_stream)

    with reported():
        count = asyncio.run(run())
    typer.echo(f"restored {count} event{'s' if count != 1 else ''} to {to_stream or stream}")
