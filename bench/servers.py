"""Start, watch and stop the servers under test.

Each server runs in its own process group so that stopping it also stops whatever it spawned
(a supervisor, workers); `Server` is a context manager so that an error or Ctrl-C in the middle
of a run still stops it. RSS is sampled with psutil over the server and all its children.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
import psutil  # type: ignore[import-untyped]

from bench.settings import HOST, PYTHON, ROOT_DIR, WORK_DIR

UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]


class ServerFailed(RuntimeError):
    """The server exited or never became ready; the message ends with its log's tail."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def uvicorn_argv(app: str, port: int) -> list[str]:
    """One uvicorn worker (no --workers: no supervisor process) with the fast loop and parser."""
    return [PYTHON, "-m", "uvicorn", app, "--host", HOST, "--port", str(port), *UVICORN_FLAGS]


def tree_sum(pid: int, measure: Callable[[psutil.Process], float]) -> float:
    """`measure` summed over a process and all its descendants; processes that just ended count 0."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            total += measure(proc)
        except psutil.NoSuchProcess:
            continue
    return total


@dataclass
class RssSampler:
    """Samples the summed RSS of a process tree in a background thread; keeps the peak."""

    pid: int
    interval_s: float = 0.1
    peak_bytes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> int:
        total = int(tree_sum(self.pid, lambda proc: proc.memory_info().rss))
        self.peak_bytes = max(self.peak_bytes, total)
        return total

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def start(self) -> None:
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()


class Server:
    """A server process: started on enter, ready once `ready_path` answers as expected, stopped on exit.

    With `ready_path` None any HTTP answer means ready (uvicorn runs the app's start-up before it
    listens); otherwise the path must answer 200 (videohooks' /readyz: Redis reachable).
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        port: int,
        env: dict[str, str] | None = None,
        ready_path: str | None = None,
        ready_timeout_s: float = 30.0,
    ) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.env = {**os.environ, **(env or {})}
        self.ready_path = ready_path
        self.ready_timeout_s = ready_timeout_s
        self.log_path: Path = WORK_DIR / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> Server:
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.ready_timeout_s
        url = self.base_url + (self.ready_path or "/")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status = httpx.get(url, timeout=1.0).status_code
            except httpx.HTTPError:
                status = None
            if status is not None and (self.ready_path is None or status == 200):
                return
            time.sleep(0.1)
        raise ServerFailed(f"{self.name} not ready after {self.ready_timeout_s:.0f} s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_sampler(self) -> RssSampler:
        assert self.proc is not None
        return RssSampler(self.proc.pid)

    def stop(self) -> None:
        """SIGTERM to the whole process group, SIGKILL after a grace period."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        for sig, grace_s in ((signal.SIGTERM, 8.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=grace_s)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError):  # children that outlived the group leader
            os.killpg(proc.pid, signal.SIGKILL)
