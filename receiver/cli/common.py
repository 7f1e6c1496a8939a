"""What every command shares: the Typer apps, the config option, and the one way failures are reported."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from receiver.config import Config, ConfigError, load_config
from receiver.foundation.errors import ErrorAnswer, RedisUnavailable, Unavailable

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


def _print_version(asked: bool) -> None:
    if asked:
        sys.stdout.write(f"videohooks {version('videohooks')}\n")
        raise typer.Exit()


@app.callback()
def _options(
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """The options that come before any command."""


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

# Markup off on every console: text a delivery carries (an error message, a model name) is printed as
# it is, never read as rich markup (`[/bold]` would raise, `[red]` would vanish). Styles are given as
# `Text` spans instead.
console = Console(stderr=True, soft_wrap=True, highlight=False, markup=False)


def output() -> Console:
    """Standard output for people, markup off like `console`."""
    return Console(soft_wrap=True, highlight=False, markup=False)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error for a person and return the exit to raise: `raise fail(...)`."""
    console.print(Text.assemble(("error:", "red"), " ", message))
    return typer.Exit(code)


def show_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]], ids: Sequence[str]) -> None:
    """Rows for a person in a terminal, or tab-separated (a header line, then a row a line) in a pipe,
    the title then on stderr.

    The `ids` columns hold values a later command takes as an argument: never cut or wrapped, in a
    terminal of any width; the other columns fold where they must.
    """
    cells = [list(row) for row in rows]
    if not sys.stdout.isatty():
        console.print(title)
        for line in [list(columns), *cells]:
            sys.stdout.write("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in line) + "\n")
        return
    table = Table(title=title)
    for index, column in enumerate(columns):
        if column in ids:
            widest = max((len(row[index]) for row in cells), default=0)
            table.add_column(column, no_wrap=True, min_width=max(widest, len(column)))
        else:
            table.add_column(column, overflow="fold")
    for row in cells:
        table.add_row(*row)
    output().print(table)


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $VIDEOHOOKS_CONFIG, then ./videohooks.toml)."),
]


# Help texts are rich markup: a literal `[` is written `\\[`.
RedisUrlOption = Annotated[str | None, typer.Option(help="Overrides \\[redis] url.")]


def open_config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise fail(str(exc)) from None


@contextmanager
def reported() -> Iterator[None]:
    """The one place a command's failures become a line for a person and an exit code.

    A configuration error exits 2; a store that did not answer (`Unavailable`, which every failure of
    a Redis client is raised as, its cluster errors included) and a refused request (an ambiguous
    dead-letter id) exit 1.
    """
    try:
        yield
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except ErrorAnswer as exc:
        raise fail(exc.message, 1) from None
    except RedisUnavailable as exc:  # with the client's own words, for the operator
        raise fail(f"{exc} ({exc.__cause__})" if exc.__cause__ else str(exc), 1) from None
    except Unavailable as exc:
        raise fail(str(exc), 1) from None
