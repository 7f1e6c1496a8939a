"""`videohooks schemas export` and `sources`: what the receiver publishes, and what it is set to take."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from receiver.cli.common import (
    ConfigOption,
    app,
    open_config,
    schemas_app,
)


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
    from receiver.services.inventory import inventory

    views = inventory(open_config(config))
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
