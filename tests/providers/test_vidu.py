"""Vidu: the sheet's request-line vectors, and callbacks as notifications confirmed by the task API.

The vectors are ../shared/PROVIDERS-NEXT.md's (an injected clock: they are stale against the real one).
Over HTTP the receiver runs whole, with `httpserver` playing Vidu's task API: a forged callback that
claims success publishes nothing the API did not say.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import httpx
import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient
from werkzeug import Request, Response

from receiver.config import parse_config
from receiver.foundation.errors import Unauthentic
from receiver.providers import verifier_for
from receiver.providers.vidu.client import ViduClient
from receiver.verifiers.base import WithRequestLine
from receiver.verifiers.vidu import ViduSignature, signing_string
from tests.support import ADMIN_TOKEN, VIDU_KEY, remote_error_of, stream_entries
from tests.support.api import api_base, api_config, reconciling_app
from tests.support.waiting import wait_until

TS = 1795176000  # 2026-11-20T12:00:00Z
NOW = TS + 60
DATE = "Fri, 20 Nov 2026 12:00:00 GMT"
NONCE = "3f2b9c1e-7a4d-4e8b-9c6f-1a2b3c4d5e6f"
PATH = "/v1/callbacks/vidu-main"
SIGNATURE = "bAGGow/+9MZuvVS+WljLgkm3o4RLFxb/190BTlVSafU="
# Note the empty query line and the final newline.
SIGNING_STRING = f"POST\n{PATH}\n\nvidu\n{DATE}\nDate:{DATE}\nx-request-nonce:{NONCE}\n"
TASK = "820935471265247232"
TASK_PATH = f"/ent/v2/tasks/{TASK}/creations"
FORGED = "https://attacker.example/forged.mp4"


def headers(**changes: str) -> dict[str, str]:
    named = {
        "date": DATE,
        "x-request-nonce": NONCE,
        "x-hmac-signed-headers": "Date;x-request-nonce",
        "x-hmac-signature": SIGNATURE,
        "x-hmac-algorithm": "hmac-sha256",
        "x-hmac-access-key": "vidu",
        **changes,
    }
    return {name: value for name, value in named.items() if value}


def request(
    headers: dict[str, str], path: str = PATH, query: str = "", method: str = "POST"
) -> WithRequestLine:
    return WithRequestLine(headers, method, path, query)


def refusal(verifier: ViduSignature, signed: WithRequestLine, body: bytes = b"{}") -> str:
    with pytest.raises(Unauthentic) as caught:
        verifier.check(signed, body, None, NOW)
    return caught.value.code


@pytest.fixture
def verifier() -> ViduSignature:
    return ViduSignature([VIDU_KEY], 300, PATH)


def test_the_sheet_vector_verifies_whatever_the_body(verifier: ViduSignature) -> None:
    assert (
        signing_string("POST", PATH, "", DATE, [("Date", DATE), ("x-request-nonce", NONCE)]) == SIGNING_STRING
    )
    for body in (b"{}", b'{"id":"1","state":"success"}', b"anything at all"):
        assert verifier.check(request(headers()), body, None, NOW) is None


def test_vidu_s_own_example_string() -> None:
    date = "Tue, 06 May 2025 12:09:42 GMT"
    nonce = "123e4567-e89b-12d3-a456-426614174000"
    text = signing_string(
        "POST", "/vidu/callback", "name=james&age=36", date, [("Date", date), ("x-request-nonce", nonce)]
    )
    assert text == (
        "POST\n/vidu/callback\nname=james&age=36\nvidu\nTue, 06 May 2025 12:09:42 GMT\n"
        "Date:Tue, 06 May 2025 12:09:42 GMT\nx-request-nonce:123e4567-e89b-12d3-a456-426614174000\n"
    )
    example = ViduSignature([VIDU_KEY], 300, "/vidu/callback")
    signed = headers(
        date=date,
        **{"x-request-nonce": nonce, "x-hmac-signature": "QJDejVoIqfhe6/1FlbGbQywMWpM1n758xCcW1MMETek="},
    )
    moment = datetime(2025, 5, 6, 12, 9, 42, tzinfo=UTC).timestamp()
    assert example.check(request(signed, "/vidu/callback", "name=james&age=36"), b"{}", None, moment) is None
    # The query is signed: without it, or reordered, the signature fails.
    for query in ("", "age=36&name=james"):
        with pytest.raises(Unauthentic):
            example.check(request(signed, "/vidu/callback", query), b"{}", None, moment)


def test_the_sheet_vector_is_refused_when_anything_changes(verifier: ViduSignature) -> None:
    for moved in (NOW - 301, NOW + 301):
        assert (
            refusal(verifier, request(headers(date=formatdate(moved, usegmt=True))))
            == "timestamp_out_of_tolerance"
        )
    for missing in ("date", "x-request-nonce", "x-hmac-signed-headers", "x-hmac-signature"):
        assert refusal(verifier, request(headers(**{missing: ""}))) == "missing_signature"
    assert refusal(verifier, request(headers(), path="/v1/callbacks/other")) == "invalid_signature"
    assert refusal(verifier, request(headers(), query="x=1")) == "invalid_signature"
    assert refusal(verifier, request(headers(), method="PUT")) == "invalid_signature"
    assert refusal(verifier, request(headers(**{"x-request-nonce": NONCE[::-1]}))) == "invalid_signature"
    assert refusal(verifier, request(headers(**{"x-hmac-signed-headers": "Date"}))) == "invalid_signature"
    assert refusal(verifier, request(headers(**{"x-hmac-algorithm": "hmac-sha1"}))) == "invalid_signature"
    assert refusal(verifier, request(headers(date="yesterday"))) == "invalid_signature"
    assert refusal(ViduSignature(["another-key"], 300, PATH), request(headers())) == "invalid_signature"


def test_an_older_key_in_secrets_is_accepted_while_the_key_rotates() -> None:
    config = parse_config(
        {
            "sources": [
                {"id": "vidu-main", "provider": "vidu", "api_key": "the-new-key", "secrets": [VIDU_KEY]}
            ]
        }
    )
    [source] = config.sources
    rotating = verifier_for(source)
    assert rotating.check(request(headers()), b"{}", None, NOW) is None


def test_what_replay_signs_verifies(verifier: ViduSignature) -> None:
    signed = verifier.sign(b"{}", NOW)
    lowered = {name.lower(): value for name, value in signed.headers.items()}
    assert verifier.check(request(lowered), b"{}", None, NOW) is None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"id": "v", "provider": "vidu", "secrets": ["old-key"]}, "needs api_key"),
        (
            {"id": "v", "provider": "memories", "verify": "vidu"},
            "needs an api_key or at least one entry in secrets",
        ),
    ],
)
def test_a_source_that_cannot_verify_is_refused_at_start_up(source: dict[str, str], message: str) -> None:
    with pytest.raises(Exception, match=message):
        parse_config({"sources": [source]})


def post(client: TestClient, body: dict[str, object], path: str = PATH, query: str = "") -> httpx.Response:
    """A callback signed as Vidu signs it: over the method, the path and query, Date and a nonce."""
    date = formatdate(time.time(), usegmt=True)
    nonce = "0b7c0e4a-5f2d-4c1e-9a8b-7c6d5e4f3a2b"
    text = signing_string("POST", path, query, date, [("Date", date), ("x-request-nonce", nonce)])
    signature = ViduSignature([VIDU_KEY], 300, path)._signatures(text)[0].decode()
    response: httpx.Response = client.post(
        path + (f"?{query}" if query else ""),
        content=orjson.dumps(body),
        headers={
            "Date": date,
            "x-request-nonce": nonce,
            "X-HMAC-SIGNED-HEADERS": "Date;x-request-nonce",
            "X-HMAC-SIGNATURE": signature,
        },
    )
    return response


def task(state: str, **fields: object) -> dict[str, object]:
    """Vidu's GET answer: no task id in it."""
    return {"state": state, "err_code": "", "credits": 0, "payload": "order-42", "creations": [], **fields}


def events(rclient: redis.Redis, prefix: str) -> list[dict[str, object]]:
    return [orjson.loads(entry["event"]) for entry in stream_entries(rclient, f"{prefix}:events")]


def test_a_forged_success_publishes_nothing_false(
    client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    httpserver.expect_request(TASK_PATH, headers={"authorization": f"Token {VIDU_KEY}"}).respond_with_json(
        task("processing")
    )
    forged: dict[str, object] = {
        "id": TASK,
        "state": "success",
        "creations": [{"id": "1", "url": FORGED, "cover_url": FORGED}],
    }
    answer = post(client, forged)
    # Accepted once the fetch job is stored; the answer names no event: the claim is not one.
    assert (answer.status_code, answer.json()) == (202, {"status": "accepted"})
    wait_until(lambda: rclient.xlen(f"{prefix}:events") > 0, timeout=5)
    [event] = events(rclient, prefix)
    assert (event["task_id"], event["status"], event["assets"]) == (TASK, "running", [])
    assert rclient.xlen(f"{prefix}:dlq") == 0
    every_byte = b"".join(
        value for entry in stream_entries(rclient, f"{prefix}:events") for value in entry.values()
    )
    assert FORGED.encode() not in every_byte


def test_a_success_the_api_confirms_publishes_the_api_s_creations(
    client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    video = "https://prod-ss-vidu.example/creation-01/video.mp4?X-Amz-Expires=86400&X-Amz-Signature=ab"
    cover = "https://prod-ss-vidu.example/creation-01/cover.jpeg"
    watermarked = "https://prod-ss-vidu.example/creation-01/watermarked.mp4?X-Amz-Expires=3600"
    httpserver.expect_request(TASK_PATH).respond_with_json(
        task(
            "success",
            credits=4,
            creations=[{"id": "c1", "url": video, "cover_url": cover, "watermarked_url": watermarked}],
        )
    )
    before = datetime.now(UTC)
    answer = post(client, {"id": TASK, "state": "success", "creations": [{"url": FORGED}]})
    assert answer.status_code == 202
    wait_until(lambda: rclient.xlen(f"{prefix}:events") > 0, timeout=5)
    after = datetime.now(UTC)
    [event] = events(rclient, prefix)
    assert event["status"] == "succeeded"
    assets = event["assets"]
    assert isinstance(assets, list)
    assert [(asset["kind"], asset["url"]) for asset in assets] == [
        ("video", video),
        ("image", cover),
        ("watermarked_video", watermarked),
    ]
    lifetimes = [timedelta(hours=24), timedelta(hours=24), timedelta(hours=1)]
    for asset, lifetime in zip(assets, lifetimes, strict=True):
        expires = datetime.fromisoformat(asset["expires_at"])
        assert before + lifetime - timedelta(seconds=1) <= expires <= after + lifetime
    assert event["extensions"] == {"credits": 4, "payload": "order-42", "creation_ids": ["c1"]}


def test_an_unsigned_or_badly_signed_callback_is_refused_and_nothing_is_asked(
    client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    body = orjson.dumps({"id": TASK, "state": "success"})
    assert client.post(PATH, content=body).json()["error"]["code"] == "missing_signature"
    assert httpserver.log == [] and rclient.xlen(f"{prefix}:dlq") == 0
    httpserver.expect_request(TASK_PATH).respond_with_json(task("success"))
    signed = post(client, {"id": TASK, "state": "success"}, path=PATH, query="")
    assert signed.status_code == 202
    # The same headers sent to another query string do not verify.
    moved = client.post(
        PATH + "?x=1", content=body, headers={name: value for name, value in signed.request.headers.items()}
    )
    assert (moved.status_code, moved.json()["error"]["code"]) == (401, "invalid_signature")


def test_a_query_in_the_callback_url_is_signed_with_it(
    client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    httpserver.expect_request(TASK_PATH).respond_with_json(task("failed", err_code="AuditSubmitIllegal"))
    answer = post(client, {"task_id": TASK, "status": "failed"}, query="order=42&tag=a%20b")
    assert answer.status_code == 202
    wait_until(lambda: rclient.xlen(f"{prefix}:events") > 0, timeout=5)
    [event] = events(rclient, prefix)
    assert (event["status"], event["error"]) == (
        "failed",
        {"code": "AuditSubmitIllegal", "message": "AuditSubmitIllegal"},
    )


def test_a_callback_naming_no_task_is_quarantined(
    client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    answer = post(client, {"state": "success", "creations": [{"url": FORGED}]})
    assert answer.json() == {"status": "quarantined", "reason": "unknown_task"}
    assert rclient.xlen(f"{prefix}:events") == 0
    [letter] = stream_entries(rclient, f"{prefix}:dlq")
    assert letter["reason"] == b"unknown_task"
    assert b"x-hmac-signature" not in letter["headers"]


async def test_the_client_adds_the_task_id_and_the_fetch_time(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TASK_PATH).respond_with_json(task("processing"))
    httpserver.expect_request("/ent/v2/tasks/other/creations").respond_with_json(
        {**task("success"), "id": TASK}
    )
    config = api_config("unused", "redis://unused", api_base(httpserver))
    client = ViduClient(config.source("vidu-main"))  # type: ignore[arg-type]
    try:
        before = time.time()
        document = orjson.loads(await client.get_task(TASK))
        assert document["id"] == TASK and before <= document["fetched_at"] <= time.time()
        error = await remote_error_of(client, "other")
        assert not error.retryable and "the answer is for task" in str(error)
    finally:
        await client.aclose()


@pytest.fixture
def reconciling(prefix: str, redis_url: str, httpserver: HTTPServer) -> Iterator[TestClient]:
    with reconciling_app(prefix, redis_url, httpserver) as client:
        yield client


def test_a_watched_task_is_polled_and_a_lost_success_reconciled(
    reconciling: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    answers = iter([task("processing"), task("success", creations=[{"url": "https://vidu.example/v.mp4"}])])

    def handle(request: Request) -> Response:
        return Response(orjson.dumps(next(answers)), content_type="application/json")

    httpserver.expect_request(TASK_PATH).respond_with_handler(handle)
    # The processing callback: fetched (processing), which starts the watch; the success callback is lost.
    assert post(reconciling, {"id": TASK, "state": "processing"}).status_code == 202
    wait_until(lambda: rclient.xlen(f"{prefix}:events") == 2, timeout=10)
    assert [event["status"] for event in events(rclient, prefix)] == ["running", "succeeded"]
    # A watch registered by hand for a task already final is satisfied without asking again.
    watched = reconciling.post(
        "/v1/sources/vidu-main/tasks",
        json={"task_id": TASK},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert watched.status_code == 202
    assert len(httpserver.log) == 2
