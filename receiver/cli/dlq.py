"""`videohooks dlq list|show|redrive`: the quarantined deliveries."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table

from receiver.cli.common import (
    ConfigOption,
    RedisUrlOption,
    dlq_app,
    fail,
    open_config,
    reported,
)
from receiver.config import Config

if TYPE_CHECKING:  # for start-up: imported by the command that runs them
    from receiver.flow.pipeline import Pipeline
    from receiver.services.dlq import DeadLetters

T = TypeVar("T")


async def _with_dead_letters(
    config: Path | None,
    redis_url: str | None,
    action: Callable[[DeadLetters, Config, Pipeline], Awaitable[T]],
) -> T:
    """Open Redis and the pipeline as the receiver does, run `action(dead_letters, config, pipeline)`."""
    from receiver.services.dlq import DeadLetters
    from receiver.wiring.connection import open_pipeline

    loaded = open_config(config)
    with reported():
        async with open_pipeline(loaded, redis_url) as (redis, pipeline):
            return await action(DeadLetters(redis, pipeline.publisher.keys), loaded, pipeline)


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
