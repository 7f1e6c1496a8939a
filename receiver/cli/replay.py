"""`videohooks replay` and `sign`: stored fixtures through the live route or the pipeline, signed as
providers sign."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from receiver.cli.common import (
    ConfigOption,
    app,
    console,
    fail,
    open_config,
    output,
)
from receiver.foundation import heap
from receiver.foundation.errors import CannotSign
from receiver.services.fixtures import FixtureError, fixture_paths, load_fixture, load_fixtures


@app.command()
def replay(
    paths: Annotated[list[Path], typer.Argument(help="Fixture files or directories (searched for *.json).")],
    to: Annotated[str | None, typer.Option("--to", help="Base URL of a running receiver.")] = None,
    direct: Annotated[
        bool, typer.Option("--direct", help="Publish through the pipeline, without HTTP.")
    ] = False,
    source: Annotated[str | None, typer.Option(help="Send every fixture to this source id.")] = None,
    config: ConfigOption = None,
    redis_url: Annotated[str | None, typer.Option(help="With --direct: overrides \\[redis] url.")] = None,
) -> None:
    """Send stored deliveries to a receiver (signed now, with the source's current secret) or, with
    --direct, straight into Redis through the same pipeline.

    A fixture naming a source the configuration does not have goes to the configured source of its
    provider, when there is exactly one (said before the replay). Over HTTP, a provider API's answer
    (a resource fixture) is skipped, and so is a callback the source cannot sign (fal's).

    Examples:
      [bold]videohooks replay fixtures/ --to http://127.0.0.1:8080[/bold]
      [bold]videohooks replay fixtures/memories --direct --config videohooks.toml[/bold]
    """
    from receiver.services.replay import (
        SETTLED_OUTCOMES,
        ReplayError,
        callbacks,
        replay_direct,
        replay_http,
        substitutions,
        summarize,
    )

    if (to is None) == (not direct):
        raise fail("give exactly one of --to URL or --direct")
    loaded = open_config(config)
    try:
        # --direct reads the files in its decode processes; --to signs each one here.
        files = list(fixture_paths(paths))
        fixtures = [] if direct else load_fixtures(files)
    except FixtureError as exc:
        raise fail(str(exc)) from None
    try:
        moved = substitutions(loaded, fixtures if direct else callbacks(fixtures), source)
    except ReplayError as exc:
        raise fail(str(exc)) from None
    for (named, used), count in sorted(moved.items()):
        console.print(f"{count} fixture(s) name {named!r}, not configured: sent to {used!r}")
    heap.reuse_large_buffers()
    heap.freeze_long_lived()

    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
    ) as bar:
        task = bar.add_task("replay", total=len(files))

        def advance(_outcome: str) -> None:
            bar.advance(task)

        try:
            if direct:
                results = asyncio.run(
                    replay_direct(
                        loaded, files, source_override=source, redis_url=redis_url, progress=advance
                    )
                )
            else:
                assert to is not None
                results = asyncio.run(
                    replay_http(loaded, fixtures, to, source_override=source, progress=advance)
                )
        except (ReplayError, FixtureError) as exc:
            raise fail(str(exc)) from None

    counts = summarize(results)
    table = Table(title=f"{len(results)} deliveries replayed")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for outcome, count in sorted(counts.items()):
        table.add_row(outcome, str(count))
    output().print(table)
    for detail in sorted({result.detail for result in results if result.detail}):
        console.print(f"skipped: {detail}")
    failed = [result for result in results if result.outcome not in SETTLED_OUTCOMES]
    for result in failed[:20]:
        console.print(f"  {result.path}: {result.outcome}")
    if failed:
        raise typer.Exit(1)


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

    from receiver.cli.curl import curl_command
    from receiver.providers import verifier_for
    from receiver.services.inventory import callback_path
    from receiver.services.replay import ReplayError, source_for

    loaded = open_config(config)
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
