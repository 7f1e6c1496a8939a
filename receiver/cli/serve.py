"""`videohooks serve`, `check-config` and `doctor`: run the receiver and check what it would run with."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from receiver.cli.common import (
    ConfigOption,
    app,
    console,
    fail,
    open_config,
)
from receiver.config import ConfigError, find_config_path, load_config


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
    loaded = open_config(path)
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
        from receiver.http.server import GracefulServer, create_app_from_env

        GracefulServer(uvicorn.Config(create_app_from_env(), **options)).run()
        return
    with worker_metrics_dir():
        uvicorn.run("receiver.http.server:create_app_from_env", factory=True, workers=workers, **options)


@contextmanager
def worker_metrics_dir() -> Iterator[None]:
    """With several workers, a fresh directory for prometheus-client's multiprocess files, named in
    the environment before any worker starts and removed after the last one stopped; stale files from
    an earlier run would otherwise be counted again."""
    from receiver.foundation.metrics import MULTIPROC_DIR_ENV

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
    loaded = open_config(config)
    console.print(f"ok: {len(loaded.sources)} source(s)")


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
    from receiver.services.doctor import Check, diagnose

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
