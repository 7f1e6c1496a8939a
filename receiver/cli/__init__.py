"""The `videohooks` command line: one module of commands per concern, each importing the services it
runs only when it runs (a command's start-up pays for nothing it does not use).

Exit codes scripts can rely on: 0 success, 1 the work ran but something failed (a replayed delivery
was refused, ...), 2 bad usage or configuration.
"""

from __future__ import annotations

from receiver.cli import dlq, info, replay, serve, tasks
from receiver.cli.common import app

__all__ = ["app", "dlq", "info", "main", "replay", "serve", "tasks"]


def main() -> None:
    app()
