"""Installs what the bench needs and the project does not: FastAPI (by-hand server), psutil (RSS).

Standard library only, so that it runs before anything it installs is imported. wrk is installed
by bench/wrk.py.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

PACKAGES = {"fastapi": "fastapi", "psutil": "psutil", "httpx": "httpx", "redis": "redis[hiredis]"}


def ensure_packages() -> None:
    missing = [spec for module, spec in PACKAGES.items() if importlib.util.find_spec(module) is None]
    if missing:
        print(f"installing {', '.join(missing)} into {sys.prefix}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)
