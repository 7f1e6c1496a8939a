"""PixVerse: the sheet's signature vectors, the canonical form of the body, the `ok` answer, the status API.

The vectors are ../shared/PROVIDERS-NEXT.md's (checked with an injected clock: they are stale against
the real one); over HTTP the receiver runs whole, with `httpserver` playing PixVerse's status API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator

import httpx
import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient
from werkzeug import Request, Response

from receiver.foundation.errors import Quarantine, Unauthentic
from receiver.providers import verifier_for
from receiver.providers.pixverse.client import PixverseClient
from receiver.verifiers.pixverse import PixVerseSignature, signed_payload
from tests.support import (
    ADMIN_TOKEN,
    API_KEY,
    FIXTURES,
    PIXVERSE_SECRET,
    remote_error_of,
    stream_entries,
)
from tests.support.api import api_base, api_config, reconciling_app
from tests.support.waiting import wait_until

TS = 1795176000  # 2026-11-20T12:00:00Z
NOW = TS + 60
NONCE = "Q7vT2kLm9XaB4cDe8FgH1jKn5PrS3uWy"
OK_BODY = (
    b'{"id":"384620571094597","status":1,"url":"https://media.pixverse.ai/pixverse/mp4/media/web/ori/'
    b'6b0f5e3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b_seed12345.mp4","size":10.5,"has_audio":true,"credits":45}'
)
FAIL_BODY = b'{"id":"384620571094598","status":8,"url":"","size":0,"has_audio":false,"credits":0}'
VECTORS = [
    (
        OK_BODY,
        189,
        "59fb27556aea3a38f69324ac3fb4583ee1371571416d1fefdceb8d7209dc1ceb",
        "credits=45&has_audio=true&id=384620571094597&size=10.5&status=1&url=https%3A%2F%2Fmedia.pixverse.ai"
        "%2Fpixverse%2Fmp4%2Fmedia%2Fweb%2Fori%2F6b0f5e3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b_seed12345.mp4",
        "MvNbO/9K0KMfrmFpIxVXjpFtTYOMsqg2gmmufzbI8iA=",
    ),
    (
        FAIL_BODY,
        83,
        "e0dd143fb4f5ab835f997d78c6dbf8c09c2b809bac5f1ebd42c0116d0a323897",
        "credits=0&has_audio=false&id=384620571094598&size=0&status=8&url=",
        "sTWP1wLZbJn0OpM+u02q2Z5/cgsiwcP7bM7RGSyyevI=",
    ),
]
WRONG_SECRET_SIGNATURE = "MG8PbEqkGl4bCyYjYz5Pjz699JQU2VJV6SUHawaXmXM="
VIDEO = "384620571094597"
RESULT_PATH = f"/openapi/v2/video/result/{VIDEO}"
# The status API's answer for the video (its id an int64), as stored with its expected event.
RESULT = orjson.loads((FIXTURES / "pixverse" / "resource-succeeded.json").read_bytes())["body_text"].encode()


def headers(signature: str, **changes: str) -> dict[str, str]:
    named = {"webhook-timestamp": str(TS), "webhook-nonce": NONCE, "webhook-signature": signature, **changes}
    return {name: value for name, value in named.items() if value}


def reference_signature(secret: str, payload: str, timestamp: int = TS, nonce: str = NONCE) -> str:
    """The sheet's own recipe, written out: base64(HMAC-SHA256(secret, ts\\nnonce\\npayload))."""
    message = f"{timestamp}\n{nonce}\n{payload}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def refusal(verifier: PixVerseSignature, headers: dict[str, str], body: bytes) -> str:
    with pytest.raises(Unauthentic) as caught:
        verifier.check(headers, body, None, NOW)
    return caught.value.code


@pytest.fixture
def verifier() -> PixVerseSignature:
    return PixVerseSignature([PIXVERSE_SECRET], 300)


@pytest.mark.parametrize(("body", "length", "sha256", "payload", "signature"), VECTORS)
def test_the_sheet_vectors_verify(
    verifier: PixVerseSignature, body: bytes, length: int, sha256: str, payload: str, signature: str
) -> None:
    assert (len(body), hashlib.sha256(body).hexdigest()) == (length, sha256)
    assert signed_payload(body) == payload
    assert reference_signature(PIXVERSE_SECRET, payload) == signature
    assert verifier.check(headers(signature), body, None, NOW) is None


@pytest.mark.parametrize(("body", "length", "sha256", "payload", "signature"), VECTORS)
def test_the_sheet_vectors_are_refused_when_anything_changes(
    verifier: PixVerseSignature, body: bytes, length: int, sha256: str, payload: str, signature: str
) -> None:
    changed = bytearray(body)
    changed[body.index(b'"status":') + 9] ^= 1  # another status digit: the body is still valid JSON
    assert refusal(verifier, headers(signature), bytes(changed)) == "invalid_signature"
    assert (
        refusal(verifier, headers(signature, **{"webhook-nonce": NONCE[::-1]}), body) == "invalid_signature"
    )
    for moved in (TS - 301, TS + 421):
        assert (
            refusal(verifier, headers(signature, **{"webhook-timestamp": str(moved)}), body)
            == "timestamp_out_of_tolerance"
        )
    for missing in ("webhook-timestamp", "webhook-nonce", "webhook-signature"):
        assert refusal(verifier, headers(signature, **{missing: ""}), body) == "missing_signature"
    assert (
        refusal(verifier, headers(signature, **{"webhook-timestamp": "2026-11-20T12:00:00Z"}), body)
        == "invalid_signature"
    )


def test_a_signature_made_with_another_secret_is_refused(verifier: PixVerseSignature) -> None:
    assert refusal(verifier, headers(WRONG_SECRET_SIGNATURE), OK_BODY) == "invalid_signature"
    # ... and accepted once that secret is one of the source's (rotation).
    rotating = PixVerseSignature(["wrong-secret", PIXVERSE_SECRET], 300)
    assert rotating.check(headers(WRONG_SECRET_SIGNATURE), OK_BODY, None, NOW) is None


def test_the_worked_example_of_pixverse_s_page() -> None:
    body = b'{"id":"123456789","status":1,"url":"https://example.com/video.mp4","has_audio":true}'
    assert (
        signed_payload(body)
        == "has_audio=true&id=123456789&status=1&url=https%3A%2F%2Fexample.com%2Fvideo.mp4"
    )


@pytest.mark.parametrize(
    ("body", "payload"),
    [
        # Numbers exactly as written: a float would print 10.5, 1000.0 and lose the id's last digits.
        (b'{"size":10.50,"n":1e3,"id":9007199254740993017}', "id=9007199254740993017&n=1e3&size=10.50"),
        # Escaping as a form: space as +, -_.~ kept, everything else percent-encoded (UTF-8).
        (b'{"k":"a b-_.~!*\'()&=+/\\u00e9"}', "k=a+b-_.~%21%2A%27%28%29%26%3D%2B%2F%C3%A9"),
        (b'{"b":"x","a b":false}', "a+b=false&b=x"),
        (b"{}", ""),
    ],
)
def test_the_canonical_form(verifier: PixVerseSignature, body: bytes, payload: str) -> None:
    assert signed_payload(body) == payload
    signature = reference_signature(PIXVERSE_SECRET, payload)
    assert verifier.check(headers(signature), body, None, NOW) is None


@pytest.mark.parametrize("body", [b'{"a":null}', b'{"a":{"b":1}}', b'{"a":[1]}'])
def test_an_undocumented_value_is_kept_unproven_not_guessed(verifier: PixVerseSignature, body: bytes) -> None:
    with pytest.raises(Quarantine) as caught:
        verifier.check(headers(reference_signature(PIXVERSE_SECRET, "a=")), body, None, NOW)
    assert caught.value.reason == "unverified_signature"


@pytest.mark.parametrize("body", [b'{"a":1,"a":2}', b"[1]", b"not json", b'{"a":NaN}'])
def test_a_body_nothing_could_have_signed_is_refused(verifier: PixVerseSignature, body: bytes) -> None:
    assert (
        refusal(verifier, headers(reference_signature(PIXVERSE_SECRET, "a=1")), body) == "invalid_signature"
    )


def test_what_replay_signs_verifies(verifier: PixVerseSignature) -> None:
    signed = verifier.sign(OK_BODY, NOW)
    nonce = signed.headers["Webhook-Nonce"]
    assert len(nonce) == 32 and nonce.isalnum()
    lowered = {name.lower(): value for name, value in signed.headers.items()}
    assert verifier.check(lowered, OK_BODY, None, NOW) is None
    assert lowered["webhook-signature"] == reference_signature(
        PIXVERSE_SECRET, signed_payload(OK_BODY), int(lowered["webhook-timestamp"]), nonce
    )


def post(client: TestClient, body: bytes, **header_changes: str) -> httpx.Response:
    source = client.app.state.runtime.config.source("pixverse-main")  # type: ignore[attr-defined]
    signed = verifier_for(source).sign(body, time.time())
    response: httpx.Response = client.post(
        "/v1/callbacks/pixverse-main", content=body, headers={**signed.headers, **header_changes}
    )
    return response


def test_every_stored_outcome_is_answered_200_ok_with_the_outcome_in_a_header(
    client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    first = post(client, OK_BODY)
    assert (first.status_code, first.text, first.headers["content-type"]) == (
        200,
        "ok",
        "text/plain; charset=utf-8",
    )
    assert first.headers["videohooks-outcome"] == "accepted"
    [entry] = stream_entries(rclient, f"{prefix}:events")
    assert first.headers["videohooks-event-id"] == entry["event_id"].decode()
    event = orjson.loads(entry["event"])
    assert (event["task_id"], event["status"]) == (VIDEO, "succeeded")
    assert event["extensions"] == {"credits": 45, "size": 10.5, "has_audio": True}

    again = post(client, OK_BODY)
    assert (again.status_code, again.text, again.headers["videohooks-outcome"]) == (200, "ok", "duplicate")

    # Generating after succeeded would move the task backwards: stale, and still `ok`.
    late = post(
        client, b'{"id":"384620571094597","status":5,"url":"","size":0,"has_audio":false,"credits":0}'
    )
    assert (late.status_code, late.text, late.headers["videohooks-outcome"]) == (200, "ok", "stale")

    unknown = post(client, b'{"id":"384620571094599","status":3,"url":""}')
    assert (unknown.status_code, unknown.text) == (200, "ok")
    assert unknown.headers["videohooks-outcome"] == "quarantined"
    assert unknown.headers["videohooks-reason"] == "unknown_status"

    # Refusals keep their JSON bodies: they are not outcomes PixVerse should stop retrying.
    forged = post(client, OK_BODY, **{"Webhook-Signature": WRONG_SECRET_SIGNATURE})
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "invalid_signature"
    assert len(stream_entries(rclient, f"{prefix}:events")) == 1


async def test_the_client_sends_the_key_and_a_fresh_trace_id_on_every_request(httpserver: HTTPServer) -> None:
    traces: list[str] = []

    def handle(request: Request) -> Response:
        assert request.headers["api-key"] == API_KEY
        assert "authorization" not in request.headers
        traces.append(str(uuid.UUID(request.headers["ai-trace-id"])))
        return Response(RESULT, content_type="application/json")

    httpserver.expect_request(RESULT_PATH).respond_with_handler(handle)
    config = api_config("unused", "redis://unused", api_base(httpserver))
    client = PixverseClient(config.source("pixverse-main"))  # type: ignore[arg-type]
    try:
        assert await client.get_task(VIDEO) == RESULT
        assert await client.get_task(VIDEO) == RESULT
    finally:
        await client.aclose()
    assert len(set(traces)) == 2


@pytest.mark.parametrize(
    ("http_status", "code", "status", "retryable"),
    [
        (200, 400017, 400, False),  # invalid parameter
        (200, 400012, 400, False),  # invalid account
        (200, 500001, 500, True),
        (200, 42, None, True),  # a code with no HTTP class may pass
        (401, 42, 401, False),  # else the HTTP status decides
    ],
)
async def test_a_nonzero_errcode_is_a_remote_error(
    httpserver: HTTPServer, http_status: int, code: int, status: int | None, retryable: bool
) -> None:
    httpserver.expect_request(RESULT_PATH).respond_with_json(
        {"ErrCode": code, "ErrMsg": "nope", "Resp": None}, status=http_status
    )
    config = api_config("unused", "redis://unused", api_base(httpserver))
    client = PixverseClient(config.source("pixverse-main"))  # type: ignore[arg-type]
    try:
        error = await remote_error_of(client, VIDEO)
    finally:
        await client.aclose()
    assert (error.status, error.retryable) == (status, retryable)
    assert f"PixVerse ErrCode {code}: nope" in str(error)


@pytest.fixture
def reconciling(prefix: str, redis_url: str, httpserver: HTTPServer) -> Iterator[TestClient]:
    with reconciling_app(prefix, redis_url, httpserver) as client:
        yield client


def test_a_lost_final_webhook_is_reconciled_from_the_status_api(
    reconciling: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    httpserver.expect_request(RESULT_PATH).respond_with_data(RESULT, content_type="application/json")
    generating = post(
        reconciling, b'{"id":"384620571094597","status":5,"url":"","size":0,"has_audio":false,"credits":0}'
    )
    assert generating.headers["videohooks-outcome"] == "accepted"
    # No final webhook comes: the watch the running one started polls once its time is up.
    wait_until(lambda: rclient.xlen(f"{prefix}:events") == 2, timeout=10)
    events = [orjson.loads(entry["event"]) for entry in stream_entries(rclient, f"{prefix}:events")]
    assert [event["status"] for event in events] == ["running", "succeeded"]
    assert [asset["kind"] for asset in events[1]["assets"]] == ["video", "image"]
    assert events[1]["extensions"]["create_time"] == "2026-11-20 11:58:00"
    assert len(httpserver.log) == 1


def test_a_watch_registered_by_hand_polls_the_status_api(
    reconciling: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    httpserver.expect_request(RESULT_PATH).respond_with_data(RESULT, content_type="application/json")
    watched = reconciling.post(
        "/v1/sources/pixverse-main/tasks",
        json={"task_id": VIDEO},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert watched.status_code == 202
    wait_until(lambda: rclient.xlen(f"{prefix}:events") == 1, timeout=10)
    [event] = [orjson.loads(entry["event"]) for entry in stream_entries(rclient, f"{prefix}:events")]
    assert (event["task_id"], event["status"]) == (VIDEO, "succeeded")
