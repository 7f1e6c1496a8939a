"""OpenRouter: the HMAC scheme with its test vector, the video jobs client, and the app end to end."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient
from typer.testing import CliRunner

from receiver.cli import app as cli
from receiver.clients.task_path import TaskPathClient
from receiver.config import Config, parse_config
from receiver.foundation.errors import RemoteError, Unauthentic
from receiver.http.app import create_app
from receiver.providers.openrouter import OpenRouterSource
from receiver.services.fixtures import load_fixture
from receiver.verifiers.openrouter import OpenRouterSignature
from tests.support import API_KEY, FIXTURES, TOKEN, api_client, stream_events, v1_assets
from tests.support.config import config_dict
from tests.support.waiting import wait_until

SECRET = "openrouter-test-signing-secret"
TS = 1795176000
NOW = 1795176060
JOB = "gen-vid-1795175880-a1B2c3D4e5F6g7H8i9J0"
BODY = (
    b'{"type":"video.generation.completed","created_at":"2026-11-20T12:00:00.000Z","data":{"id":'
    b'"gen-vid-1795175880-a1B2c3D4e5F6g7H8i9J0","status":"completed","generation_id":"gen-1795175885-Qw3rTy7uIo9pAs1dFg2h",'
    b'"model":"google/veo-3.1","unsigned_urls":["https://openrouter.ai/api/v1/videos/gen-vid-1795175880-a1B2c3D4e5F6g7H8i9J0/content?index=0"],'
    b'"usage":{"cost":0.5,"is_byok":false}}}'
)
SIGNATURE = "aaf9093d41d36cb841169a6c72f2d54048f163cdab3f62dbfb7ce939326e7d54"
KEY = f"{JOB}-completed"
HEADERS = {"x-openrouter-signature": f"t={TS},v1={SIGNATURE}", "x-openrouter-idempotency-key": KEY}


def verifier(*secrets: str) -> OpenRouterSignature:
    return OpenRouterSignature(list(secrets or (SECRET,)), 300)


def test_the_vector_is_the_sheets() -> None:
    assert len(BODY) == 382
    assert (
        hashlib.sha256(BODY).hexdigest() == "c94e8dc1c2efa89dc1b4fab18d3534f80c10b8a1ffdb7fa2fef95a879d9d83d6"
    )


def test_the_sheets_vector_verifies_and_its_idempotency_key_is_the_delivery_id() -> None:
    assert verifier().check(HEADERS, BODY, None, NOW) == KEY
    # Without the key header the delivery is still authentic; it just carries no delivery id.
    assert (
        verifier().check({"x-openrouter-signature": HEADERS["x-openrouter-signature"]}, BODY, None, NOW)
        is None
    )


@pytest.mark.parametrize(
    "header",
    [
        f"t={TS},v1={'0' * 64},v1={SIGNATURE}",  # rotation: any v1 may match
        f"t={TS}, v1={SIGNATURE.upper()}",  # spaces, uppercase hex
        f"v1={SIGNATURE},t={TS}",  # order does not matter
    ],
)
def test_accepted_header_forms(header: str) -> None:
    assert verifier().check({"x-openrouter-signature": header}, BODY, None, NOW) is None


def test_a_rotated_secret_still_verifies() -> None:
    assert verifier("new-secret", SECRET).check(HEADERS, BODY, None, NOW) == KEY


def with_signature(header: str) -> dict[str, str]:
    return {"x-openrouter-signature": header}


@pytest.mark.parametrize(
    ("headers", "body", "now", "code"),
    [
        (HEADERS, BODY + b"\n", NOW, "invalid_signature"),
        (HEADERS, BODY.replace(b"0.5", b"0.6"), NOW, "invalid_signature"),
        (HEADERS, BODY, TS + 301, "timestamp_out_of_tolerance"),
        (HEADERS, BODY, TS - 301, "timestamp_out_of_tolerance"),
        ({}, BODY, NOW, "missing_signature"),
        (with_signature(f"t={TS}"), BODY, NOW, "invalid_signature"),
        (with_signature(f"v1={SIGNATURE}"), BODY, NOW, "invalid_signature"),
        (with_signature(f"t={TS},t={TS},v1={SIGNATURE}"), BODY, NOW, "invalid_signature"),
        (with_signature(f"t=17951760OO,v1={SIGNATURE}"), BODY, NOW, "invalid_signature"),
        (with_signature(f"t={TS + 1},v1={SIGNATURE}"), BODY, NOW, "invalid_signature"),
        (with_signature(f"t={TS};v1={SIGNATURE}"), BODY, NOW, "invalid_signature"),
        (with_signature(f"t={TS},v1={SIGNATURE}=0"), BODY, NOW, "invalid_signature"),
        (with_signature(f"t={TS},v0={SIGNATURE}"), BODY, NOW, "invalid_signature"),
        (with_signature("t=1," + "v1=a," * 2000), BODY, NOW, "invalid_signature"),
    ],
    ids=[
        "trailing-newline",
        "body-altered",
        "stale",
        "future",
        "no-header",
        "no-v1",
        "no-t",
        "two-t",
        "t-not-digits",
        "t-changed",
        "semicolon",
        "v1-with-extra-equals",
        "other-version",
        "huge",
    ],
)
def test_bad_deliveries_are_refused(headers: dict[str, str], body: bytes, now: int, code: str) -> None:
    with pytest.raises(Unauthentic) as caught:
        verifier().check(headers, body, None, now)
    assert caught.value.code == code


def test_an_unknown_secret_is_refused() -> None:
    with pytest.raises(Unauthentic) as caught:
        verifier("someone-elses-secret").check(HEADERS, BODY, None, NOW)
    assert caught.value.code == "invalid_signature"


def test_sign_makes_what_check_accepts() -> None:
    signed = verifier().sign(BODY, TS, KEY)
    assert signed.headers == {
        "X-OpenRouter-Signature": f"t={TS},v1={SIGNATURE}",
        "X-OpenRouter-Idempotency-Key": KEY,
    }
    lowered = {name.lower(): value for name, value in signed.headers.items()}
    assert verifier().check(lowered, BODY, None, NOW) == KEY
    assert "X-OpenRouter-Idempotency-Key" not in verifier().sign(BODY, TS).headers


# Configuration -------------------------------------------------------------------------------------


def test_the_default_scheme_needs_the_signing_secret() -> None:
    with pytest.raises(Exception, match="needs at least one entry in secrets"):
        parse_config({"sources": [{"id": "o", "provider": "openrouter"}]})


@pytest.mark.parametrize(
    "source",
    [
        {"verify": "url-token", "secrets": [TOKEN], "api_key": API_KEY},
        {"verify": "none"},
    ],
    ids=["url-token", "none"],
)
def test_a_workspace_without_a_signing_secret_works_like_the_unsigned_providers(
    source: dict[str, Any],
) -> None:
    config = parse_config({"sources": [{"id": "o", "provider": "openrouter", **source}]})
    configured = config.source("o")
    assert configured is not None and configured.api_base_url == "https://openrouter.ai"


# The client ----------------------------------------------------------------------------------------


def client_for(httpserver: HTTPServer) -> TaskPathClient:
    client = api_client(
        OpenRouterSource.model_validate(
            {
                "id": "o",
                "provider": "openrouter",
                "secrets": [SECRET],
                "api_key": API_KEY,
                "api_base_url": httpserver.url_for("").rstrip("/"),
            }
        )
    )
    assert isinstance(client, TaskPathClient)
    return client


JOB_PATH = f"/api/v1/videos/{JOB}"
BEARER = {"authorization": f"Bearer {API_KEY}"}


def job(status: str = "completed", **fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"id": JOB, "polling_url": JOB_PATH, "status": status, **fields}
    if status == "completed":
        document.setdefault("urls", ["https://storage.openrouter.ai/v/out.mp4?sig=1"])
        document.setdefault("unsigned_urls", [f"https://openrouter.ai{JOB_PATH}/content?index=0"])
        document.setdefault("expires_at", 1795262400)
        document.setdefault("usage", {"cost": 0.5, "is_byok": False})
    return document


async def test_the_job_is_read_with_the_bearer_key(httpserver: HTTPServer) -> None:
    httpserver.expect_request(JOB_PATH, headers=BEARER).respond_with_json(job("in_progress"))
    client = client_for(httpserver)
    try:
        assert orjson.loads(await client.get_task(JOB)) == job("in_progress")
    finally:
        await client.aclose()


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (401, False), (429, True), (502, True)])
async def test_api_errors_are_remote_errors(httpserver: HTTPServer, status: int, retryable: bool) -> None:
    httpserver.expect_request(JOB_PATH).respond_with_data("no", status=status, headers={"retry-after": "7"})
    client = client_for(httpserver)
    try:
        with pytest.raises(RemoteError) as caught:
            await client.get_task(JOB)
    finally:
        await client.aclose()
    assert (caught.value.status, caught.value.retryable, caught.value.retry_after) == (status, retryable, 7.0)


# End to end through the app ------------------------------------------------------------------------


def openrouter_config(prefix: str, redis_url: str, base: str) -> Config:
    data = config_dict(prefix, redis_url, base)
    data["sources"] += [
        {
            "id": "openrouter-token",
            "provider": "openrouter",
            "verify": "url-token",
            "secrets": [TOKEN],
            "api_key": API_KEY,
            "api_base_url": base,
            "fetch_retry_seconds": 0.05,
        }
    ]
    return parse_config(data)


@pytest.fixture
def app_client(prefix: str, redis_url: str, httpserver: HTTPServer) -> Any:
    with TestClient(
        create_app(openrouter_config(prefix, redis_url, httpserver.url_for("").rstrip("/")))
    ) as c:
        yield c


def signed_now(body: bytes, key: str | None = KEY) -> dict[str, str]:
    return verifier().sign(body, time.time(), key).headers


def test_a_signed_webhook_is_published_under_its_idempotency_key(
    app_client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    first = app_client.post("/v1/callbacks/openrouter-main", content=BODY, headers=signed_now(BODY))
    assert (first.status_code, first.json()["status"]) == (202, "accepted")
    again = app_client.post("/v1/callbacks/openrouter-main", content=BODY, headers=signed_now(BODY))
    assert (again.status_code, again.json()["status"]) == (202, "duplicate")
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["task_id"], event["status"], event["delivery_id"]) == (JOB, "succeeded", KEY)
    assert event["model"] == "google/veo-3.1"
    assert event["extensions"]["assets_need_api_key"] is True
    assert event["extensions"]["cost"] == 0.5


def test_refusals_store_nothing(app_client: TestClient, rclient: redis.Redis, prefix: str) -> None:
    stale = verifier().sign(BODY, time.time() - 301, KEY).headers
    answers = [
        app_client.post("/v1/callbacks/openrouter-main", content=BODY + b" ", headers=signed_now(BODY)),
        app_client.post("/v1/callbacks/openrouter-main", content=BODY, headers=stale),
        app_client.post("/v1/callbacks/openrouter-main", content=BODY),
    ]
    assert [(a.status_code, a.json()["error"]["code"]) for a in answers] == [
        (401, "invalid_signature"),
        (401, "timestamp_out_of_tolerance"),
        (401, "missing_signature"),
    ]
    assert rclient.xlen(f"{prefix}:events") == 0
    assert rclient.xlen(f"{prefix}:dlq") == 0


def test_an_unsigned_notification_publishes_the_job_the_api_returns(
    app_client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    httpserver.expect_request(JOB_PATH, headers=BEARER).respond_with_json(job())
    answer = app_client.post(
        f"/v1/callbacks/openrouter-token/{TOKEN}", content=BODY, headers={"x-openrouter-idempotency-key": KEY}
    )
    assert (answer.status_code, answer.json()["status"]) == (202, "accepted")
    wait_until(lambda: rclient.xlen(f"{prefix}:events") > 0, timeout=5)
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["source"], event["status"], event["delivery_id"]) == ("openrouter-token", "succeeded", KEY)
    # The API's signed URL, with its expiry, not the webhook's unsigned one.
    assert v1_assets(event) == [
        {
            "kind": "video",
            "url": "https://storage.openrouter.ai/v/out.mp4?sig=1",
            "expires_at": "2026-11-21T12:00:00Z",
        }
    ]
    assert "assets_need_api_key" not in event["extensions"]


def test_videohooks_sign_prints_a_command_the_verifier_accepts(tmp_path: Path) -> None:
    config = tmp_path / "videohooks.toml"
    config.write_text(
        f'[[sources]]\nid = "openrouter-main"\nprovider = "openrouter"\nsecrets = ["{SECRET}"]\n',
        encoding="utf-8",
    )
    fixture = FIXTURES / "openrouter" / "completed.json"
    result = CliRunner().invoke(
        cli, ["sign", str(fixture), "--url", "http://127.0.0.1:1", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    match = re.search(r"X-OpenRouter-Signature: (t=\d+,v1=[0-9a-f]{64})", result.output)
    assert match is not None, result.output
    body = load_fixture(fixture).body
    assert verifier().check({"x-openrouter-signature": match.group(1)}, body, None, time.time()) is None
