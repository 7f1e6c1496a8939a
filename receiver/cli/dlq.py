"""`videohooks dlq list|show|redrive`: the quarantined deliveries."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import orjson
import typer

from receiver.cli.common import (
    ConfigOption,
    RedisUrlOption,
    dlq_app,
    fail,
    open_config,
    reported,
    show_table,
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
    show_table(
        f"{len(letters)} dead letter(s)",
        ("entry id", "source", "reason", "received at", "size", "redriven", "detail"),
        (
            (
                letter.entry_id,
                letter.source,
                letter.reason,
                letter.received_at,
                str(len(letter.body)),
                letter.redriven or "",
                letter.detail[:80],
            )
            for letter in letters
        ),
        ids=("entry id", "source"),
    )


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
    show_table(
        redrive_summary([result.outcome for result in results]),
        ("entry id", "source", "outcome", "event id", "detail"),
        (
            (result.entry_id, result.source, result.outcome, result.event_id or "", result.detail or "")
            for result in results
        ),
        ids=("entry id", "source", "event id"),
    )
    if any(result.outcome not in REDRIVEN for result in results):
        raise typer.Exit(1)


# A redrive outcome that means the entry's event is in the stream (now, or before this redrive).
REDRIVEN = ("accepted", "duplicate", "stale")


def redrive_summary(outcomes: Sequence[str]) -> str:
    """ "3 entries: 1 redriven (accepted), 2 not (still_quarantined)": what happened, counted by outcome,
    rather than every entry tried called redriven."""
    counts = Counter(outcomes)
    done = sorted(outcome for outcome in counts if outcome in REDRIVEN)
    not_done = sorted(outcome for outcome in counts if outcome not in REDRIVEN)

    def part(label: str, kinds: list[str]) -> str:
        total = sum(counts[kind] for kind in kinds)
        return f"{total} {label} ({', '.join(f'{counts[kind]} {kind}' for kind in kinds)})"

    parts = [part("redriven", done)] if done else []
    parts += [part("not redriven", not_done)] if not_done else []
    noun = "entry" if len(outcomes) == 1 else "entries"
    return f"{len(outcomes)} {noun}" + (": " + "; ".join(parts) if parts else "")
