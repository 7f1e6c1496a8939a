"""The three servers under test, each as a recipe for a `Server` bound to a run's key prefix.

videohooks is optional: the service is written alongside the bench, so a missing console script
is reported as such rather than failing the whole run.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from bench.servers import Server, free_port, uvicorn_argv
from bench.settings import HOST, ROOT_DIR, SECRET, SOURCE_ID, VENV_BIN, WORK_DIR, redis_url


class Kind(Enum):
    CEILING = "ceiling"
    BYHAND = "byhand"
    VIDEOHOOKS = "videohooks"


LABELS = {
    Kind.CEILING: "ceiling (bare Starlette)",
    Kind.BYHAND: "by hand (FastAPI)",
    Kind.VIDEOHOOKS: "videohooks",
}


def videohooks_binary() -> str | None:
    """The console script of the venv running the bench, else one on PATH."""
    beside = VENV_BIN / "videohooks"
    return str(beside) if beside.exists() else shutil.which("videohooks")


def write_config(path: Path, prefix: str) -> Path:
    """The bench's videohooks config: one memories source behind Standard Webhooks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[redis]\n"
        f'url = "{redis_url()}"\n'
        f'prefix = "{prefix}"\n\n'
        "[[sources]]\n"
        f'id = "{SOURCE_ID}"\n'
        'provider = "memories"\n'
        'verify = "standard-webhooks"\n'
        f'secrets = ["{SECRET}"]\n'
    )
    return path


def videohooks_server(binary: str, config: Path, port: int, name: str = "videohooks") -> Server:
    """`videohooks serve` running this checkout's code: the console script of an editable install
    elsewhere would import that other tree's."""
    argv = [binary, "serve", "--config", str(config), "--host", HOST, "--port", str(port)]
    return Server(name, argv, port, env={"PYTHONPATH": str(ROOT_DIR)}, ready_path="/readyz")


@dataclass(frozen=True)
class Target:
    kind: Kind
    prefix: str  # every Redis key of this server's run starts with it

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def stream(self) -> str | None:
        """The stream holding one entry per accepted delivery; the ceiling writes none."""
        return None if self.kind is Kind.CEILING else f"{self.prefix}:events"

    def server(self) -> Server:
        port = free_port()
        name = self.kind.value
        if self.kind is Kind.CEILING:
            return Server(name, uvicorn_argv("bench.ceiling:app", port), port)
        if self.kind is Kind.BYHAND:
            env = {
                "BENCH_STREAM": f"{self.prefix}:events",
                "BENCH_REDIS_URL": redis_url(),
                "BENCH_SECRET": SECRET,
            }
            return Server(name, uvicorn_argv("bench.byhand:app", port), port, env=env)
        binary = videohooks_binary()
        if binary is None:
            raise FileNotFoundError("videohooks console script not installed")
        config = write_config(WORK_DIR / "videohooks.toml", self.prefix)
        return videohooks_server(binary, config, port)
