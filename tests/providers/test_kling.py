"""Kling: API tokens (JWT HS256 from the access and secret keys), the query path, and its error codes."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from receiver.config import parse_config
from receiver.providers import PROVIDERS
from receiver.providers.kling import KlingSource, api_token
from receiver.providers.kling.client import KlingClient
from tests.support import API_KEY, FIXTURES, KLING_ACCESS_KEY, KLING_SECRET_KEY, TOKEN, remote_error_of

TS = 1795176000  # 2026-11-20T12:00:00Z
TASK = "867283741759111202"
PATH = f"/v1/videos/text2video/{TASK}"
ANSWER = (FIXTURES / "kling" / "resource-succeed.json").read_bytes()


def source(base: str = "https://api-singapore.klingai.com", **keys: Any) -> KlingSource:
    settings = {"access_key": KLING_ACCESS_KEY, "secret_key": KLING_SECRET_KEY, **keys}
    data = {"id": "kling-t", "provider": "kling", "secrets": [TOKEN], "api_base_url": base, **settings}
    config = parse_config({"sources": [{key: value for key, value in data.items() if value is not None}]})
    [parsed] = config.sources
    assert isinstance(parsed, KlingSource)
    return parsed


def test_the_api_token_is_an_hs256_jwt_issued_by_the_access_key() -> None:
    token = api_token(KLING_ACCESS_KEY, KLING_SECRET_KEY, TS + 0.9)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(
        token, KLING_SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False}
    )
    assert claims == {"iss": KLING_ACCESS_KEY, "exp": TS + 1800, "nbf": TS - 5}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, KLING_SECRET_KEY + "x", algorithms=["HS256"], options={"verify_exp": False})


def test_the_source_s_api_headers_carry_a_token_valid_now() -> None:
    headers = source().api_headers()
    scheme, _, token = headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    assert jwt.decode(token, KLING_SECRET_KEY, algorithms=["HS256"])["iss"] == KLING_ACCESS_KEY


async def test_the_client_queries_the_task_path_with_a_fresh_token(httpserver: HTTPServer) -> None:
    seen: list[str] = []

    def handle(request: Request) -> Response:
        seen.append(request.headers["authorization"].removeprefix("Bearer "))
        return Response(ANSWER, content_type="application/json")

    httpserver.expect_request(f"/v1/videos/image2video/{TASK}").respond_with_handler(handle)
    client = KlingClient(source(httpserver.url_for("").rstrip("/"), task_path="videos/image2video"))
    try:
        assert await client.get_task(TASK) == ANSWER
        assert await client.get_task(TASK) == ANSWER
    finally:
        await client.aclose()
    for token in seen:
        assert jwt.decode(token, KLING_SECRET_KEY, algorithms=["HS256"])["iss"] == KLING_ACCESS_KEY


async def test_a_relay_key_is_sent_as_a_plain_bearer(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, headers={"authorization": f"Bearer {API_KEY}"}).respond_with_data(
        ANSWER, content_type="application/json"
    )
    relay = source(httpserver.url_for("").rstrip("/"), access_key=None, secret_key=None, api_key=API_KEY)
    assert relay.has_api_credentials
    client = KlingClient(relay)
    try:
        assert await client.get_task(TASK) == ANSWER
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"secret_key": None}, "access_key and secret_key are set together"),
        ({"access_key": None}, "access_key and secret_key are set together"),
        ({"api_key": API_KEY}, "not both"),
        ({"task_path": "../admin"}, "task_path"),
        ({"task_path": "text2video"}, "task_path"),
    ],
)
def test_credentials_and_task_path_are_checked_at_start_up(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message):
        source(**keys)


def test_without_keys_the_callback_is_decoded_as_sent() -> None:
    bare = source(access_key=None, secret_key=None)
    assert not bare.has_api_credentials
    assert not PROVIDERS["kling"].fetches(bare)
    assert PROVIDERS["kling"].fetches(source())


@pytest.mark.parametrize(
    ("http_status", "code", "status", "retryable"),
    [
        (200, 1203, 404, False),  # a task Kling does not know: the fetch asks again until its deadline
        (404, 1202, 404, False),
        (401, 1004, 401, False),  # the token expired: Kling's own answer to a wrong clock or key
        (200, 1102, 403, False),
        (429, 1303, 429, True),
        (500, 5000, 500, True),
        (200, 5001, 503, True),
        (200, 9999, None, True),  # a code no table lists may pass
        (400, 9998, 400, False),  # else the HTTP status decides
    ],
)
async def test_a_nonzero_code_is_a_remote_error_with_kling_s_http_status(
    httpserver: HTTPServer, http_status: int, code: int, status: int | None, retryable: bool
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"code": code, "message": "nope", "request_id": "r-1", "data": None},
        status=http_status,
        headers={"retry-after": "7"},
    )
    client = KlingClient(source(httpserver.url_for("").rstrip("/")))
    try:
        error = await remote_error_of(client, TASK)
    finally:
        await client.aclose()
    assert (error.status, error.retryable, error.retry_after) == (status, retryable, 7.0)
    assert f"Kling code {code}: nope" in str(error)


@pytest.mark.parametrize(
    ("http_status", "body", "status", "retryable"),
    [
        (404, b"<html>not found</html>", 404, False),
        (502, b"bad gateway", 502, True),
        (200, b"<html>cut off", None, True),
    ],
)
async def test_answers_without_an_envelope_map_by_http_status(
    httpserver: HTTPServer, http_status: int, body: bytes, status: int | None, retryable: bool
) -> None:
    httpserver.expect_request(PATH).respond_with_data(body, status=http_status)
    client = KlingClient(source(httpserver.url_for("").rstrip("/")))
    try:
        error = await remote_error_of(client, TASK)
    finally:
        await client.aclose()
    assert (error.status, error.retryable) == (status, retryable)
