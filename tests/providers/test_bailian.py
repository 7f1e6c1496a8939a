"""Bailian: the SDK-backed client against a fake Quanmiao API (pytest-httpserver), and the config rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from receiver.config import ConfigError, parse_config
from receiver.core.decoding import decode_resource
from receiver.providers import PROVIDER_SCHEMAS
from receiver.providers.bailian import BailianSource
from receiver.providers.bailian.client import BailianClient
from schemas.event import event_to_dict
from schemas.normalizing import DeliveryContext
from tests.support import FIXTURES, api_client, hanging_json, remote_error_of

WORKSPACE = "llm-test0123"
TASK_ID = "a3f9c6e2-7d41-4b8e-9c0a-5e2f1d7b8c34"
TASK_PATH = f"/{WORKSPACE}/quanmiao/lightapp/videoAnalysis/getVideoAnalysisTask"
ACCESS_KEY_ID = "LTAI5tTestAccessKeyId"


def source(api_base_url: str, timeout_seconds: float = 10.0) -> BailianSource:
    return BailianSource.model_validate(
        {
            "id": "bailian-main",
            "api_timeout_seconds": timeout_seconds,
            "provider": "bailian",
            "api_base_url": api_base_url,
            "workspace_id": WORKSPACE,
            "access_key_id": ACCESS_KEY_ID,
            "access_key_secret": "test-access-key-secret",
        }
    )


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((FIXTURES / "bailian" / f"{name}.json").read_bytes())
    return data


def expect_task(httpserver: HTTPServer) -> Any:
    return httpserver.expect_oneshot_request(TASK_PATH, method="GET", query_string={"taskId": TASK_ID})


def decoded(body: bytes) -> dict[str, Any]:
    ctx = DeliveryContext("bailian-main", "bailian", datetime.now(UTC))
    event: dict[str, Any] = event_to_dict(decode_resource(PROVIDER_SCHEMAS["bailian"], body, ctx))
    del event["received_at"]
    return event


@pytest.fixture
async def client(httpserver: HTTPServer) -> AsyncIterator[BailianClient]:
    bailian = api_client(source(httpserver.url_for("/").rstrip("/")))
    assert isinstance(bailian, BailianClient)
    yield bailian
    await bailian.aclose()


async def test_polls_the_task_signed_with_the_access_key(
    httpserver: HTTPServer, client: BailianClient
) -> None:
    stored = fixture("succeeded-full")
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        return Response(orjson.dumps(stored["body"]), content_type="application/json")

    expect_task(httpserver).respond_with_handler(answer)
    fetched = await client.get_task(TASK_ID)
    httpserver.check_assertions()

    authorization = seen[0].headers["Authorization"]
    assert authorization.startswith(f"ACS3-HMAC-SHA256 Credential={ACCESS_KEY_ID},SignedHeaders=")
    assert "Signature=" in authorization
    assert seen[0].headers["x-acs-action"] == "GetVideoAnalysisTask"
    # The SDK's model hands the body back in the API's camelCase form, and it decodes as stored.
    body = orjson.loads(fetched)
    assert body["data"]["taskStatus"] == "SUCCESSED"
    assert (
        body["data"]["payload"]["output"]["videoCaptionResult"]["videoCaptions"][0]["speaker"] == "Speaker 1"
    )
    assert decoded(fetched) == stored["expected"]


async def test_result_json_file_is_fetched_and_merged(httpserver: HTTPServer, client: BailianClient) -> None:
    link = httpserver.url_for("/results/a3f9c6e2.json") + "?Expires=1763800000&Signature=abc"
    inline = fixture("result-json-file-url")["body"]
    inline["data"]["payload"]["output"]["resultJsonFileUrl"] = link
    full_analysis = {
        "generateFinished": True,
        "text": "Cooking a tomato omelette, start to finish.",
        "videoShotAnalysisResults": [
            {"startTime": 0, "endTime": 2500, "text": "Eggs are cracked into a bowl."},
            {"startTime": 2500, "endTime": 7000, "text": "Tomatoes are diced and fried."},
        ],
    }
    expect_task(httpserver).respond_with_json(inline)
    httpserver.expect_oneshot_request(
        "/results/a3f9c6e2.json", query_string={"Expires": "1763800000", "Signature": "abc"}
    ).respond_with_json(
        {"videoAnalysisResult": full_analysis, "videoTitleGenerateResult": {"text": "Omelette"}}
    )

    event = decoded(await client.get_task(TASK_ID))
    httpserver.check_assertions()
    assert event["text"] == "Cooking a tomato omelette, start to finish."
    assert event["title"] == "Omelette"
    assert [segment["text"] for segment in event["segments"]] == [
        "Eggs are cracked into a bowl.",
        "Tomatoes are diced and fried.",
    ]
    assert event["extensions"]["result_json_file_url"] == link


async def test_an_expired_result_link_is_retryable(httpserver: HTTPServer, client: BailianClient) -> None:
    inline = fixture("result-json-file-url")["body"]
    inline["data"]["payload"]["output"]["resultJsonFileUrl"] = httpserver.url_for("/results/gone.json")
    expect_task(httpserver).respond_with_json(inline)
    httpserver.expect_oneshot_request("/results/gone.json").respond_with_data("expired", status=500)
    error = await remote_error_of(client, TASK_ID)
    assert (error.retryable, "resultJsonFileUrl" in str(error)) == (True, True)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_client_errors_are_final(httpserver: HTTPServer, client: BailianClient, status: int) -> None:
    expect_task(httpserver).respond_with_json(
        {"code": "InvalidAccessKeyId", "message": "denied", "requestId": "r-1"}, status=status
    )
    error = await remote_error_of(client, TASK_ID)
    assert error.retryable is False
    assert f"HTTP {status}" in str(error)


async def test_throttling_passes_on_the_wait(httpserver: HTTPServer, client: BailianClient) -> None:
    expect_task(httpserver).respond_with_json(
        {"code": "Throttling", "message": "slow down", "requestId": "r-2"},
        status=429,
        headers={"x-acs-retry-after": "2500"},
    )
    error = await remote_error_of(client, TASK_ID)
    assert (error.retryable, error.retry_after) == (True, 2.5)


async def test_server_errors_and_malformed_json_are_retryable(
    httpserver: HTTPServer, client: BailianClient
) -> None:
    expect_task(httpserver).respond_with_json({"code": "InternalError", "message": "oops"}, status=500)
    expect_task(httpserver).respond_with_data('{"requestId": "cut', content_type="application/json")
    for expected in ("HTTP 500 InternalError", "parse the value as json"):
        error = await remote_error_of(client, TASK_ID)
        assert (error.retryable, expected in str(error)) == (True, True)


async def test_timeout_is_retryable(httpserver: HTTPServer) -> None:
    with hanging_json(orjson.dumps(fixture("pending")["body"])) as hanging:
        expect_task(httpserver).respond_with_handler(hanging)
        async with aclosing(
            BailianClient(source(httpserver.url_for("/").rstrip("/"), timeout_seconds=0.2))
        ) as slow:
            error = await remote_error_of(slow, TASK_ID)
    assert (error.retryable, "Timeout" in str(error)) == (True, True)


def test_a_bailian_source_needs_its_polling_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"sources": [{"id": "bailian-main", "provider": "bailian", "workspace_id": WORKSPACE}]})
    message = str(caught.value)
    assert 'sources[0] (id "bailian-main")' in message
    assert "access_key_id: Field required" in message
    assert "access_key_secret: Field required" in message
