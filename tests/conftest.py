"""Shared fixtures: one real Redis for the session, a fresh key prefix per test, configs and clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient

from receiver.config import Config, parse_config
from receiver.http.app import create_app
from tests.s3server import S3Server
from tests.support import (
    ADMIN_TOKEN,
    API_KEY,
    GEMINI_WHSEC,
    KLING_ACCESS_KEY,
    KLING_SECRET_KEY,
    REPLICATE_WHSEC,
    TL_SECRET,
    TOKEN,
    WHSEC,
    RedisServer,
)


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


def config_dict(
    prefix: str, redis_url: str | None = None, api_base_url: str | None = None
) -> dict[str, object]:
    """The test configuration: one source per verification scheme the tests exercise, and API sources.

    `api_base_url` (the `httpserver` playing the providers' APIs) is the base of every API source;
    without it they name an address that is never called (a poll-only source cannot be configured
    without one).
    """
    api = {"api_base_url": api_base_url or "https://api.provider.invalid"}
    return {
        "redis": {"url": redis_url, "prefix": prefix} if redis_url else {"prefix": prefix},
        "sources": [
            {
                "id": "memories-main",
                "provider": "memories",
                "verify": "url-token",
                "secrets": [TOKEN, "old-token"],
            },
            {
                "id": "memories-signed",
                "provider": "memories",
                "verify": "standard-webhooks",
                "secrets": [WHSEC],
            },
            {"id": "memories-tl", "provider": "memories", "verify": "twelvelabs", "secrets": [TL_SECRET]},
            {"id": "memories-open", "provider": "memories", "verify": "none"},
            # No api_key: the thin TwelveLabs event is published at once, without a fetch.
            {
                "id": "twelvelabs-main",
                "provider": "twelvelabs",
                "verify": "twelvelabs",
                "secrets": [TL_SECRET],
            },
            {
                "id": "openai-main",
                "provider": "openai",
                "secrets": [WHSEC],
                "api_key": API_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
            {"id": "openai-thin", "provider": "openai", "secrets": [WHSEC]},
            {
                "id": "veo-relay",
                "provider": "openai-compatible",
                "api_key": API_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            {
                "id": "bailian-main",
                "provider": "bailian",
                "workspace_id": "llm-test",
                "access_key_id": "test-access-key-id",
                "access_key_secret": "test-access-key-secret",
                "poll_interval_seconds": 0.05,
                **api,
            },
            # --- minimax, runway, dashscope ---
            # A MiniMax callback is a notification: with api_key the task is fetched (minimax-main);
            # without it the body is decoded as sent (minimax-open).
            {
                "id": "minimax-main",
                "provider": "minimax",
                "secrets": [TOKEN],
                "api_key": API_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
            {"id": "minimax-open", "provider": "minimax", "secrets": [TOKEN]},
            {
                "id": "runway-main",
                "provider": "runway",
                "api_key": API_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            {
                "id": "dashscope-main",
                "provider": "dashscope",
                "api_key": API_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            # --- end minimax, runway, dashscope ---
            # gemini and replicate (Standard Webhooks): gemini-main fetches after its thin webhooks,
            # gemini-thin (no api_key) publishes them as sent; replicate-main's bodies are the result.
            {
                "id": "gemini-main",
                "provider": "gemini",
                "secrets": [GEMINI_WHSEC],
                "api_key": API_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
            {"id": "gemini-thin", "provider": "gemini", "secrets": [GEMINI_WHSEC]},
            {
                "id": "replicate-main",
                "provider": "replicate",
                "secrets": [REPLICATE_WHSEC],
                "api_key": API_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            # fal: only fal holds the key its webhooks are signed with, so its fixtures cannot be signed
            # again: this source verifies nothing (tests/test_fal.py verifies real signatures against a
            # served key set).
            {"id": "fal-main", "provider": "fal", "verify": "none"},
            # openrouter: the signing secret of the provider sheet's test vector.
            {
                "id": "openrouter-main",
                "provider": "openrouter",
                "secrets": ["openrouter-test-signing-secret"],
            },
            # Unsigned callbacks (luma, kling, ark): `-main` decodes the body as sent (no credentials),
            # `-api` takes it as a notification and publishes what the API says.
            {"id": "luma-main", "provider": "luma", "secrets": [TOKEN]},
            {
                "id": "luma-api",
                "provider": "luma",
                "secrets": [TOKEN],
                "api_key": API_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
            {"id": "kling-main", "provider": "kling", "secrets": [TOKEN]},
            {
                "id": "kling-api",
                "provider": "kling",
                "secrets": [TOKEN],
                "access_key": KLING_ACCESS_KEY,
                "secret_key": KLING_SECRET_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
            {"id": "ark-main", "provider": "ark", "secrets": [TOKEN]},
            {
                "id": "ark-api",
                "provider": "ark",
                "secrets": [TOKEN],
                "api_key": API_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
        ],
        "server": {"max_body_bytes": 65536},
        "admin": {"token": ADMIN_TOKEN},
    }


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
