"""fal: the ED25519 scheme against a key set served by `httpserver`, the queue client, and the app end to end.

The signature vectors are made with RFC 8032 section 7.1 TEST 1's key, checked with an
injected clock; deliveries through the app are signed at the current time with the same test key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient
from typer.testing import CliRunner

from receiver.cli import app as cli
from receiver.config import Config, parse_config
from receiver.foundation.errors import CannotSign, ErrorAnswer, RemoteError, Unauthentic
from receiver.http.app import create_app
from receiver.providers import verifier_for
from receiver.providers.fal import FalSource
from receiver.providers.fal.client import FalQueueClient, app_path
from receiver.verifiers.fal import DEFAULT_JWKS_URL, REREAD_SECONDS, FalSignature
from tests.support import API_KEY, FIXTURES, TOKEN, stream_entries, stream_events, v1_assets
from tests.support.config import config_dict
from tests.support.waiting import wait_until

TS = 1795176000
NOW = 1795176060  # within 300 s of TS
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
REQUEST_ID = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
USER_ID = "fal-test-user-01"
BODY = (
    b'{"request_id":"6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9","gateway_request_id":"6f1e2d3c-4b5a-4978-8695-'
    b'a4b3c2d1e0f9","status":"OK","payload":{"video":{"url":"https://v3b.fal.media/files/b/rabbit/out.mp4",'
    b'"content_type":"video/mp4","file_name":"out.mp4","file_size":4404019}}}'
)
SIGNATURE = (
    "a9a7f7c772e687c7689bde2ac60c3897192dceff03e2617f49d140345faac18d"
    "5096c6ea6411c67d3fa7712b2f77873edc9abbe065666eb44e6b8a760287b302"
)
HEADERS = {
    "x-fal-webhook-request-id": REQUEST_ID,
    "x-fal-webhook-user-id": USER_ID,
    "x-fal-webhook-timestamp": str(TS),
    "x-fal-webhook-signature": SIGNATURE,
}
JWKS_PATH = "/.well-known/jwks.json"
MODEL_ID = "fal-ai/kling-video/v2/master/text-to-video"


def jwks(*xs: str, extra: Sequence[object] = ()) -> dict[str, Any]:
    return {"keys": [*extra, *({"kty": "OKP", "crv": "Ed25519", "x": x} for x in xs)]}


def other_x() -> str:
    from base64 import urlsafe_b64encode

    from cryptography.hazmat.primitives import serialization

    raw = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return urlsafe_b64encode(raw).decode().rstrip("=")


def fal_signed(body: bytes, timestamp: int, request_id: str = REQUEST_ID) -> dict[str, str]:
    """Headers as fal sends them, signed with the test key."""
    message = f"{request_id}\n{USER_ID}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}".encode()
    return {
        "x-fal-webhook-request-id": request_id,
        "x-fal-webhook-user-id": USER_ID,
        "x-fal-webhook-timestamp": str(timestamp),
        "x-fal-webhook-signature": KEY.sign(message).hex(),
    }


def verifier(httpserver: HTTPServer) -> FalSignature:
    return FalSignature(httpserver.url_for(JWKS_PATH), 300, httpx.Timeout(2.0))


def serve(httpserver: HTTPServer, document: Any, status: int = 200) -> None:
    httpserver.clear()
    if isinstance(document, bytes):
        httpserver.expect_request(JWKS_PATH).respond_with_data(document, status=status)
    else:
        httpserver.expect_request(JWKS_PATH).respond_with_json(document, status=status)


# The test vector -------------------------------------------------------------------------------------


def test_the_vector_is_the_sheets() -> None:
    assert (
        hashlib.sha256(BODY).hexdigest() == "da394b3c86906faea65c080d4a7e3f7c3839d9fcfe976acca77f106017610574"
    )
    assert len(BODY) == 271


@pytest.mark.parametrize("x", [X, X + "="], ids=["unpadded", "padded"])
async def test_the_sheets_vector_verifies_against_the_served_key_set(httpserver: HTTPServer, x: str) -> None:
    serve(httpserver, jwks(x))
    checker = verifier(httpserver)
    try:
        assert await checker.verify(HEADERS, BODY, None, NOW) is None
        # Cached: the next delivery reads nothing, and the pure check agrees.
        assert await checker.verify(HEADERS, BODY, None, NOW + 1) is None
        assert checker.check(HEADERS, BODY, None, NOW) is None
        assert len(httpserver.log) == 1
    finally:
        await checker.aclose()


async def test_keys_that_are_not_ed25519_or_are_malformed_are_skipped(httpserver: HTTPServer) -> None:
    others = [
        {"kty": "RSA", "n": "0vx7", "e": "AQAB"},
        {"kty": "OKP", "crv": "X25519", "x": X},
        {"kty": "OKP", "crv": "Ed25519", "x": "not base64!"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
        "not a key",
    ]
    serve(httpserver, jwks(X, extra=others))
    checker = verifier(httpserver)
    try:
        assert await checker.verify(HEADERS, BODY, None, NOW) is None
    finally:
        await checker.aclose()


def changed(headers: dict[str, str], **values: str | None) -> dict[str, str]:
    out = {**headers, **{f"x-fal-webhook-{name.replace('_', '-')}": v for name, v in values.items() if v}}
    for name, value in values.items():
        if value is None:
            del out[f"x-fal-webhook-{name.replace('_', '-')}"]
    return out


@pytest.mark.parametrize(
    ("headers", "body", "now", "code"),
    [
        (HEADERS, BODY.replace(b"out.mp4", b"out.mp5", 1), NOW, "invalid_signature"),
        (HEADERS, BODY, TS + 301, "timestamp_out_of_tolerance"),
        (HEADERS, BODY, TS - 301, "timestamp_out_of_tolerance"),
        (changed(HEADERS, timestamp=str(TS + 1)), BODY, NOW, "invalid_signature"),
        (changed(HEADERS, user_id="someone-else"), BODY, NOW, "invalid_signature"),
        (changed(HEADERS, request_id=None), BODY, NOW, "missing_signature"),
        (changed(HEADERS, user_id=None), BODY, NOW, "missing_signature"),
        (changed(HEADERS, timestamp=None), BODY, NOW, "missing_signature"),
        (changed(HEADERS, signature=None), BODY, NOW, "missing_signature"),
        (changed(HEADERS, signature=SIGNATURE[:-2]), BODY, NOW, "invalid_signature"),
        (changed(HEADERS, signature="zz" + SIGNATURE[2:]), BODY, NOW, "invalid_signature"),
        (changed(HEADERS, timestamp="1795176000.5"), BODY, NOW, "invalid_signature"),
        (changed(HEADERS, signature="a" * 5000), BODY, NOW, "invalid_signature"),
    ],
    ids=[
        "body-altered",
        "stale",
        "future",
        "timestamp-changed",
        "user-changed",
        "no-request-id",
        "no-user-id",
        "no-timestamp",
        "no-signature",
        "short-signature",
        "not-hex",
        "fractional-timestamp",
        "huge-header",
    ],
)
async def test_bad_deliveries_are_refused(
    httpserver: HTTPServer, headers: dict[str, str], body: bytes, now: int, code: str
) -> None:
    serve(httpserver, jwks(X))
    checker = verifier(httpserver)
    try:
        with pytest.raises(Unauthentic) as caught:
            await checker.verify(headers, body, None, now)
        assert caught.value.code == code
    finally:
        await checker.aclose()


async def test_a_key_id_not_in_the_set_is_refused(httpserver: HTTPServer) -> None:
    serve(httpserver, jwks(other_x()))
    checker = verifier(httpserver)
    try:
        with pytest.raises(Unauthentic) as caught:
            await checker.verify(HEADERS, BODY, None, NOW)
        assert caught.value.code == "invalid_signature"
    finally:
        await checker.aclose()


# Caching, rotation, outages ---------------------------------------------------------------------------


async def test_a_rotated_key_is_read_again_but_at_most_once_a_minute(httpserver: HTTPServer) -> None:
    serve(httpserver, jwks(other_x()))
    checker = verifier(httpserver)
    try:
        with pytest.raises(Unauthentic):
            await checker.verify(HEADERS, BODY, None, NOW)
        assert len(httpserver.log) == 1
        serve(httpserver, jwks(other_x(), X))  # fal publishes the new key beside the old
        # Within the minute: no key verifies, and the set is not read again, however many arrive.
        for offset in range(1, 30):
            with pytest.raises(Unauthentic):
                await checker.verify(HEADERS, BODY, None, NOW + offset)
        assert len(httpserver.log) == 0
        # A minute after the previous read, a delivery no cached key verifies reads the set again.
        assert await checker.verify(HEADERS, BODY, None, NOW + REREAD_SECONDS) is None
        assert len(httpserver.log) == 1
        assert await checker.verify(HEADERS, BODY, None, NOW + REREAD_SECONDS + 1) is None
        assert len(httpserver.log) == 1
    finally:
        await checker.aclose()


async def test_keys_are_read_again_after_a_day(httpserver: HTTPServer) -> None:
    serve(httpserver, jwks(X))
    checker = verifier(httpserver)
    try:
        await checker.verify(HEADERS, BODY, None, NOW)
        later = NOW + 24 * 3600 + 1
        headers = fal_signed(BODY, later)
        assert await checker.verify(headers, BODY, None, later) is None
        assert len(httpserver.log) == 2
    finally:
        await checker.aclose()


@pytest.mark.parametrize(
    "answer",
    [(b"maintenance", 500), (b"<html>not json</html>", 200), (b'{"no": "keys"}', 200)],
    ids=["http-500", "not-json", "not-a-jwks"],
)
async def test_an_unreadable_key_set_is_503_not_401(
    httpserver: HTTPServer, answer: tuple[bytes, int]
) -> None:
    serve(httpserver, answer[0], answer[1])
    checker = verifier(httpserver)
    try:
        for now in (NOW, NOW + 5):  # the second, within the minute, does not read again: still 503
            with pytest.raises(ErrorAnswer) as caught:
                await checker.verify(HEADERS, BODY, None, now)
            assert not isinstance(caught.value, Unauthentic)
            assert (caught.value.status, caught.value.code) == (503, "unavailable")
            assert int(caught.value.headers["retry-after"]) > 0
        assert len(httpserver.log) == 1
        # fal retries; once the set is back (and a minute passed) the same delivery passes.
        serve(httpserver, jwks(X))
        assert await checker.verify(HEADERS, BODY, None, NOW + REREAD_SECONDS) is None
    finally:
        await checker.aclose()


async def test_an_unreachable_key_set_is_503(httpserver: HTTPServer) -> None:
    checker = FalSignature("http://127.0.0.1:9/jwks.json", 300, httpx.Timeout(1.0))
    try:
        with pytest.raises(ErrorAnswer) as caught:
            await checker.verify(HEADERS, BODY, None, NOW)
        assert caught.value.status == 503
    finally:
        await checker.aclose()


async def test_cached_keys_still_verify_while_the_key_set_is_down(httpserver: HTTPServer) -> None:
    serve(httpserver, jwks(X))
    checker = verifier(httpserver)
    try:
        await checker.verify(HEADERS, BODY, None, NOW)
        serve(httpserver, b"down", 503)
        later = TS + 2 * 24 * 3600  # the cache is stale: a read is tried, fails, the old key still proves it
        assert await checker.verify(fal_signed(BODY, later), BODY, None, later) is None
        assert len(httpserver.log) == 1
        # A delivery no cached key verifies is 503 while the set cannot be read (it may be authentic).
        with pytest.raises(ErrorAnswer) as caught:
            await checker.verify(changed(HEADERS, timestamp=str(later)), BODY, None, later + 1)
        assert caught.value.status == 503
    finally:
        await checker.aclose()


def test_fal_deliveries_cannot_be_signed_again() -> None:
    with pytest.raises(CannotSign, match="private key"):
        FalSignature(DEFAULT_JWKS_URL, 300, httpx.Timeout(1.0)).sign(BODY, NOW)


# Configuration -------------------------------------------------------------------------------------


def test_a_fal_source_needs_no_secret_and_defaults_to_the_documented_key_set() -> None:
    config = parse_config({"sources": [{"id": "f", "provider": "fal"}]})
    source = config.source("f")
    assert source is not None and source.verify == "fal" and source.jwks_url is None
    verifier = verifier_for(source)
    assert isinstance(verifier, FalSignature) and verifier._url == DEFAULT_JWKS_URL


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            {"provider": "openrouter", "secrets": ["s"], "jwks_url": "https://k.test/j"},
            "jwks_url is only used",
        ),
        ({"provider": "fal", "verify": "none", "jwks_url": "https://k.test/j"}, "jwks_url is only used"),
        ({"provider": "fal", "secrets": ["s"]}, "takes no secrets"),
        ({"provider": "fal", "jwks_url": "ftp://k.test/j"}, "http"),
        ({"provider": "fal", "model_id": "no-slash"}, "model_id"),
    ],
)
def test_keys_that_do_not_fit_are_refused(source: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message):
        parse_config({"sources": [{"id": "f", **source}]})


def test_fal_source_credentials() -> None:
    source = FalSource.model_validate({"id": "f", "provider": "fal", "api_key": "k"})
    assert not source.has_api_credentials  # no model_id: the queue routes cannot be named
    source = FalSource.model_validate({"id": "f", "provider": "fal", "api_key": "k", "model_id": MODEL_ID})
    assert source.has_api_credentials
    assert source.api_headers() == {"authorization": "Key k"}
    with pytest.raises(ValidationError):
        FalSource.model_validate({"id": "f", "provider": "fal", "signing_secret": "x"})


# The queue client ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "app"),
    [
        (MODEL_ID, "fal-ai/kling-video"),
        ("fal-ai/veo3", "fal-ai/veo3"),
        ("workflows/me/my-flow/sub", "workflows/me/my-flow"),
        ("comfy/me/graph", "comfy/me/graph"),
    ],
)
def test_the_queue_routes_use_the_app_part_of_the_model_id(model_id: str, app: str) -> None:
    assert app_path(model_id) == app


def client_for(httpserver: HTTPServer) -> FalQueueClient:
    return FalQueueClient(
        FalSource.model_validate(
            {
                "id": "f",
                "provider": "fal",
                "api_key": API_KEY,
                "model_id": MODEL_ID,
                "api_base_url": httpserver.url_for("").rstrip("/"),
            }
        )
    )


STATUS_PATH = f"/fal-ai/kling-video/requests/{REQUEST_ID}/status"
RESULT_PATH = f"/fal-ai/kling-video/requests/{REQUEST_ID}"
AUTH = {"authorization": f"Key {API_KEY}"}
OUTPUT = {"video": {"url": "https://v3b.fal.media/files/b/rabbit/out.mp4", "content_type": "video/mp4"}}


async def test_a_completed_request_is_its_status_with_the_result(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request(STATUS_PATH, headers=AUTH).respond_with_json(
        {"status": "COMPLETED", "logs": None, "metrics": {"inference_time": 2.5}}
    )
    httpserver.expect_ordered_request(RESULT_PATH, headers=AUTH).respond_with_json(OUTPUT)
    client = client_for(httpserver)
    try:
        document = orjson.loads(await client.get_task(REQUEST_ID))
    finally:
        await client.aclose()
    assert document == {
        "status": "COMPLETED",
        "logs": None,
        "metrics": {"inference_time": 2.5},
        "request_id": REQUEST_ID,
        "payload": OUTPUT,
    }
    httpserver.check_assertions()


@pytest.mark.parametrize(
    "status",
    [
        {"status": "IN_QUEUE", "queue_position": 0},
        {"status": "IN_PROGRESS", "logs": []},
        {"status": "COMPLETED", "logs": None, "metrics": {}, "error": "Internal error", "error_type": "x"},
    ],
    ids=["queued", "running", "failed"],
)
async def test_no_result_is_asked_for_before_completion_or_after_a_failure(
    httpserver: HTTPServer, status: dict[str, Any]
) -> None:
    # The queue answers 202 while the request waits or runs.
    httpserver.expect_request(STATUS_PATH, headers=AUTH).respond_with_json(status, status=202)
    client = client_for(httpserver)
    try:
        document = orjson.loads(await client.get_task(REQUEST_ID))
    finally:
        await client.aclose()
    assert document == {**status, "request_id": REQUEST_ID}
    assert [entry[0].path for entry in httpserver.log] == [STATUS_PATH]


@pytest.mark.parametrize(
    ("path", "status", "retryable"),
    [
        (STATUS_PATH, 404, False),
        (STATUS_PATH, 401, False),
        (STATUS_PATH, 500, True),
        (RESULT_PATH, 503, True),
    ],
)
async def test_api_errors_are_remote_errors(
    httpserver: HTTPServer, path: str, status: int, retryable: bool
) -> None:
    if path == RESULT_PATH:
        httpserver.expect_request(STATUS_PATH).respond_with_json({"status": "COMPLETED", "logs": None})
    httpserver.expect_request(path).respond_with_data("no", status=status)
    client = client_for(httpserver)
    try:
        with pytest.raises(RemoteError) as caught:
            await client.get_task(REQUEST_ID)
    finally:
        await client.aclose()
    assert (caught.value.status, caught.value.retryable) == (status, retryable)


# End to end through the app ------------------------------------------------------------------------


def fal_config(prefix: str, redis_url: str, base: str) -> Config:
    data = config_dict(prefix, redis_url, base)
    data["sources"] += [
        {"id": "fal-signed", "provider": "fal", "jwks_url": f"{base}{JWKS_PATH}"},
        {
            "id": "fal-signed-api",
            "provider": "fal",
            "jwks_url": f"{base}{JWKS_PATH}",
            "api_key": API_KEY,
            "model_id": MODEL_ID,
            "api_base_url": base,
            "fetch_retry_seconds": 0.05,
        },
        {
            "id": "fal-notified",
            "provider": "fal",
            "verify": "url-token",
            "secrets": [TOKEN],
            "api_key": API_KEY,
            "model_id": MODEL_ID,
            "api_base_url": base,
            "fetch_retry_seconds": 0.05,
        },
    ]
    return parse_config(data)


@pytest.fixture
def fal_client(prefix: str, redis_url: str, httpserver: HTTPServer) -> Any:
    config = fal_config(prefix, redis_url, httpserver.url_for("").rstrip("/"))
    with TestClient(create_app(config)) as client:
        yield client


def test_a_signed_webhook_is_published_once(
    fal_client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_json(jwks(X + "="))
    first = fal_client.post(
        "/v1/callbacks/fal-signed", content=BODY, headers=fal_signed(BODY, int(time.time()))
    )
    assert (first.status_code, first.json()["status"]) == (202, "accepted")
    # fal's retry: a new timestamp and signature, the same request and status: a duplicate.
    again = fal_client.post(
        "/v1/callbacks/fal-signed", content=BODY, headers=fal_signed(BODY, int(time.time()))
    )
    assert (again.status_code, again.json()["status"]) == (202, "duplicate")
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["source"], event["task_id"], event["status"]) == ("fal-signed", REQUEST_ID, "succeeded")
    assert event["delivery_id"] is None
    assert v1_assets(event) == [
        {"kind": "video", "url": "https://v3b.fal.media/files/b/rabbit/out.mp4", "expires_at": None}
    ]
    assert len(httpserver.log) == 1


def test_refusals_store_nothing(
    fal_client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_json(jwks(X))
    now = int(time.time())
    altered = fal_client.post("/v1/callbacks/fal-signed", content=BODY + b" ", headers=fal_signed(BODY, now))
    stale = fal_client.post("/v1/callbacks/fal-signed", content=BODY, headers=fal_signed(BODY, now - 301))
    bare = fal_client.post("/v1/callbacks/fal-signed", content=BODY)
    assert [(r.status_code, r.json()["error"]["code"]) for r in (altered, stale, bare)] == [
        (401, "invalid_signature"),
        (401, "timestamp_out_of_tolerance"),
        (401, "missing_signature"),
    ]
    assert rclient.xlen(f"{prefix}:events") == 0
    assert rclient.xlen(f"{prefix}:dlq") == 0


def test_a_key_set_that_is_down_answers_503_with_retry_after(
    fal_client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_data("down", status=502)
    answer = fal_client.post(
        "/v1/callbacks/fal-signed", content=BODY, headers=fal_signed(BODY, int(time.time()))
    )
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "unavailable"
    assert int(answer.headers["retry-after"]) > 0
    assert rclient.xlen(f"{prefix}:events") == 0


def test_an_unsigned_notification_publishes_what_the_queue_says(
    fal_client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    # The body claims success; the queue says the request failed: the queue is the truth.
    httpserver.expect_request(STATUS_PATH, headers=AUTH).respond_with_json(
        {
            "status": "COMPLETED",
            "logs": None,
            "metrics": {"inference_time": 3.0},
            "error": "boom",
            "error_type": "x",
        }
    )
    answer = fal_client.post(f"/v1/callbacks/fal-notified/{TOKEN}", content=BODY)
    assert (answer.status_code, answer.json()["status"]) == (202, "accepted")
    wait_until(lambda: rclient.xlen(f"{prefix}:events") > 0, timeout=5)
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["source"], event["task_id"], event["status"]) == ("fal-notified", REQUEST_ID, "failed")
    assert event["error"] == {"code": "x", "message": "boom"}
    assert event["usage"]["processing_ms"] == 3000
    assert stream_entries(rclient, f"{prefix}:dlq") == []


def test_a_signed_ok_without_its_payload_is_completed_from_the_result_route(
    fal_client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    """`payload_error`: fal could not put the output in the webhook. With the API's credentials the
    result is read from the queue, and the event is whole; without them it is published truncated."""
    httpserver.expect_request(JWKS_PATH).respond_with_json(jwks(X))
    httpserver.expect_request(STATUS_PATH, headers=AUTH).respond_with_json(
        {"status": "COMPLETED", "logs": None, "metrics": {"inference_time": 2.5}}
    )
    httpserver.expect_request(RESULT_PATH, headers=AUTH).respond_with_json(OUTPUT)
    body = (FIXTURES / "fal" / "ok-payload-error.json").read_bytes()
    body = orjson.dumps(orjson.loads(body)["body"])
    now = int(time.time())
    for source in ("fal-signed-api", "fal-signed"):
        answer = fal_client.post(f"/v1/callbacks/{source}", content=body, headers=fal_signed(body, now))
        assert (answer.status_code, answer.json()["status"]) == (202, "accepted")
    wait_until(lambda: rclient.xlen(f"{prefix}:events") == 2, timeout=5)
    events = {event["source"]: event for event in stream_events(rclient, f"{prefix}:events")}
    fetched, as_sent = events["fal-signed-api"], events["fal-signed"]
    assert (fetched["status"], fetched["truncated"]) == ("succeeded", False)
    assert [asset["url"] for asset in fetched["assets"]] == [OUTPUT["video"]["url"]]
    assert (as_sent["status"], as_sent["truncated"], as_sent["assets"]) == ("succeeded", True, [])


# `videohooks sign` and `replay` ---------------------------------------------------------------------


def test_sign_and_replay_explain_that_fal_deliveries_cannot_be_signed(tmp_path: Path) -> None:
    config = tmp_path / "videohooks.toml"
    config.write_text('[[sources]]\nid = "fal-main"\nprovider = "fal"\n', encoding="utf-8")
    fixture = str(FIXTURES / "fal" / "ok-video.json")
    runner = CliRunner()
    signed = runner.invoke(cli, ["sign", fixture, "--url", "http://127.0.0.1:1", "--config", str(config)])
    replayed = runner.invoke(cli, ["replay", fixture, "--to", "http://127.0.0.1:1", "--config", str(config)])
    assert signed.exit_code == 2, signed.output
    # A replay goes on without it: counted as skipped, and why is said.
    assert replayed.exit_code == 0, replayed.output
    assert "skipped_cannot_sign" in replayed.output
    for result in (signed, replayed):
        assert "private key" in result.output
        assert "Traceback" not in result.output
