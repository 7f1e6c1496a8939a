"""Checks that the bench's extra packages are installed: FastAPI (by-hand server), psutil (RSS).

Standard library only, so that it runs before anything it checks is imported. They come from the
lock's `bench` extra (`make bench` installs it); wrk is installed by bench/wrk.py.
"""

from __future__ import annotations

import importlib.util

MODULES = ("fastapi", "psutil")


def ensure_packages() -> None:
    missing = [module for module in MODULES if importlib.util.find_spec(module) is None]
    if missing:
        raise SystemExit(
            f"the bench needs {', '.join(missing)}: run `make bench`, which installs the lock's bench extra"
        )
