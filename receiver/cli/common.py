"""What every command shares: the Typer apps, the config option, and the one way failures are reported."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from receiver.config import Config, ConfigError, load_config
from receiver.foundation.errors import REDIS_FAILURES, Unavailable

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

console = Console(stderr=True, soft_wrap=True, highlight=False)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error for a person and return the exit to raise: `raise fail(...)`."""
    console.print(f"[red]error:[/red] {message}", markup=True)
    return typer.Exit(code)


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $VIDEOHOOKS_CONFIG, then ./videohooks.toml)."),
]


RedisUrlOption = Annotated[str | None, typer.Option(help="Overrides [redis] url.")]


def open_config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise fail(str(exc)) from None


@contextmanager
def reported() -> Iterator[None]:
    """The one place a command's failures become a line for a person and an exit code.

    A configuration error exits 2; a store that did not answer (`Unavailable`) or any failure of a
    Redis client, its cluster errors included, exits 1.
    """
    try:
        yield
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except Unavailable as exc:
        raise fail(str(exc), 1) from None
    except REDIS_FAILURES as exc:
        raise fail(f"redis: {exc.__class__.__name__}: {exc}", 1) from None
