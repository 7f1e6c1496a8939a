"""The ASGI app as uvicorn's worker processes build it: from the config file named in the environment.

`videohooks serve` validates the config, then names it in `VIDEOHOOKS_CONFIG` so that every worker,
including those uvicorn forks or spawns for `--workers`, loads the same file.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette

from receiver import logs
from receiver.app import create_app
from receiver.config import load_config


def create_app_from_env() -> Starlette:
    logs.configure(os.environ.get("VIDEOHOOKS_LOG_LEVEL", "info"))
    return create_app(load_config(os.environ.get("VIDEOHOOKS_CONFIG")))
