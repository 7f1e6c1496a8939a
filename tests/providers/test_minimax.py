"""MiniMax: the challenge handshake through the app, the task client against a fake MiniMax API
(pytest-httpserver: query, then files/retrieve), and unsigned callbacks as notifications end to end."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient

from receiver.providers.minimax import MinimaxSource
from receiver.providers.minimax.client import MinimaxClient
from tests.support import API_KEY, TOKEN, api_client, remote_error_of, stream_entries, stream_events
from tests.support.api import api_base, api_config, receiver_parts
from tests.support.waiting import wait_until

TASK = "115334141465231360"
FILE_ID = "205258526306433"
QUERY = "/v1/query/video_generation"
RETRIEVE = "/v1/files/retrieve"
OK = {"status_code": 0, "status_msg": "success"}
DOWNLOAD = "https://public-cdn-video-data.minimax.io/inference_output/output_aigc.mp4"


def task(status: str, file_id: str = "", **fields: Any) -> dict[str, Any]:
    return {"task_id": TASK, "status": status, "file_id": file_id, "base_resp": OK, **fields}


def file_answer() -> dict[str, Any]:
    return {
        "file": {
            "file_id": int(FILE_ID),
            "bytes": 5896337,
            "created_at": 1795175990,
            "filename": "output_aigc.mp4",
            "purpose": "video_generation",
            "download_url": DOWNLOAD,
        },
        "base_resp": OK,
    }


def expect_query(httpserver: HTTPServer) -> Any:
    return httpserver.expect_request(
        QUERY, query_string={"task_id": TASK}, headers={"authorization": f"Bearer {API_KEY}"}
    )


def expect_retrieve(httpserver: HTTPServer) -> Any:
    return httpserver.expect_request(
        RETRIEVE, query_string={"file_id": FILE_ID}, headers={"authorization": f"Bearer {API_KEY}"}
    )


def keys(rclient: redis.Redis, prefix: str) -> list[bytes]:
    return list(rclient.scan_iter(match=f"{prefix}:*"))


# --- the challenge handshake, through the app ---


def test_the_challenge_is_answered_with_200_and_nothing_is_stored(
    client: TestClient, rclient: redis.Redis, prefix: str, httpserver: HTTPServer
) -> None:
    response = client.post(f"/v1/callbacks/minimax-main/{TOKEN}", content=b'{"challenge":"c-1795176000"}')
    assert response.status_code == 200
    assert response.json() == {"challenge": "c-1795176000"}
    assert keys(rclient, prefix) == []
    assert httpserver.log == []  # nothing fetched either


def test_a_challenge_with_a_wrong_token_is_refused(
    client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    response = client.post("/v1/callbacks/minimax-main/not-the-token", content=b'{"challenge":"c-1"}')
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert "c-1" not in response.text
    assert keys(rclient, prefix) == []


def test_a_challenge_beside_other_keys_is_an_ordinary_callback(
    client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    body = orjson.dumps({"challenge": "c-2", **task("processing")})
    response = client.post(f"/v1/callbacks/minimax-open/{TOKEN}", content=body)
    assert (response.status_code, response.json()["status"]) == (202, "accepted")
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["task_id"], event["status"], event["provider"]) == (TASK, "running", "minimax")


@pytest.mark.parametrize("body", [b'{"challenge": 5}', b'{"challenge": null}', b'["challenge"]'])
def test_a_challenge_that_is_not_one_string_is_an_ordinary_callback(
    body: bytes, client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    response = client.post(f"/v1/callbacks/minimax-open/{TOKEN}", content=body)
    assert (response.status_code, response.json()["status"]) == (202, "quarantined")
    [dead] = stream_entries(rclient, f"{prefix}:dlq")
    assert dead["body"] == body


# --- the client, against a fake MiniMax API ---


@pytest.fixture
async def minimax(httpserver: HTTPServer) -> AsyncIterator[MinimaxClient]:
    source = MinimaxSource.model_validate(
        {
            "id": "minimax-main",
            "provider": "minimax",
            "secrets": [TOKEN],
            "api_key": API_KEY,
            "api_base_url": api_base(httpserver),
        }
    )
    assert source.verify == "url-token"  # the provider's default
    client = api_client(source)
    assert isinstance(client, MinimaxClient)
    yield client
    await client.aclose()


async def test_a_successful_task_is_merged_with_its_retrieved_file(
    httpserver: HTTPServer, minimax: MinimaxClient
) -> None:
    expect_query(httpserver).respond_with_json(task("Success", FILE_ID, video_width=1920, video_height=1080))
    expect_retrieve(httpserver).respond_with_json(file_answer())
    before = int(time.time())
    document = orjson.loads(await minimax.get_task(TASK))
    assert [request.path for request, _ in httpserver.log] == [QUERY, RETRIEVE]
    assert document["status"] == "Success"
    assert document["file"]["download_url"] == DOWNLOAD
    assert before <= document["file_retrieved_at"] <= time.time()


async def test_an_unfinished_task_is_not_resolved(httpserver: HTTPServer, minimax: MinimaxClient) -> None:
    expect_query(httpserver).respond_with_json(task("Processing"))
    document = orjson.loads(await minimax.get_task(TASK))
    assert "file" not in document
    assert len(httpserver.log) == 1


async def test_a_failed_task_is_the_task_not_an_api_error(
    httpserver: HTTPServer, minimax: MinimaxClient
) -> None:
    """`base_resp` carries a failed task's reason: the document is returned for the normalizer."""
    failed = task("Fail", base_resp={"status_code": 1027, "status_msg": "output video may be sensitive"})
    expect_query(httpserver).respond_with_json(failed)
    assert orjson.loads(await minimax.get_task(TASK)) == failed


@pytest.mark.parametrize(
    ("code", "retryable", "status"),
    [(1002, True, 429), (1039, True, 429), (1013, True, 503), (1004, False, 401), (2013, False, 404)],
)
async def test_api_errors_in_base_resp_are_mapped(
    code: int, retryable: bool, status: int, httpserver: HTTPServer, minimax: MinimaxClient
) -> None:
    expect_query(httpserver).respond_with_json(
        {"task_id": "", "status": "", "base_resp": {"status_code": code, "status_msg": "no"}}
    )
    error = await remote_error_of(minimax, TASK)
    assert (error.retryable, error.status) == (retryable, status)
    assert f"MiniMax error {code}" in str(error)


async def test_a_retrieve_without_a_file_is_retried(httpserver: HTTPServer, minimax: MinimaxClient) -> None:
    expect_query(httpserver).respond_with_json(task("Success", FILE_ID))
    expect_retrieve(httpserver).respond_with_json({"base_resp": OK})
    error = await remote_error_of(minimax, TASK)
    assert error.retryable


async def test_http_errors_keep_their_meaning(httpserver: HTTPServer, minimax: MinimaxClient) -> None:
    expect_query(httpserver).respond_with_data("down", status=502)
    error = await remote_error_of(minimax, TASK)
    assert (error.retryable, error.status) == (True, 502)


# --- end to end: callback -> fetch job -> event ---


def test_a_success_callback_publishes_the_fetched_task_with_its_link(
    client: TestClient, rclient: redis.Redis, prefix: str, httpserver: HTTPServer
) -> None:
    expect_query(httpserver).respond_with_json(task("Success", FILE_ID))
    expect_retrieve(httpserver).respond_with_json(file_answer())
    body = orjson.dumps(task("success", FILE_ID))
    response = client.post(f"/v1/callbacks/minimax-main/{TOKEN}", content=body)
    assert (response.status_code, response.json()["status"]) == (202, "accepted")
    wait_until(lambda: rclient.xlen(f"{prefix}:events") > 0, timeout=5)
    [event] = stream_events(rclient, f"{prefix}:events")
    # A notification names no event: what is published is the API's answer.
    assert (event["status"], "event_id" in response.json()) == ("succeeded", False)
    [asset] = event["assets"]
    assert asset["url"] == DOWNLOAD
    expires = datetime.fromisoformat(asset["expires_at"])
    nine_hours = datetime.now(UTC) + timedelta(hours=9)
    assert nine_hours - timedelta(seconds=30) <= expires <= nine_hours
    assert event["extensions"]["filename"] == "output_aigc.mp4"


async def test_a_claimed_success_the_api_does_not_confirm_publishes_what_the_api_says(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    expect_query(httpserver).respond_with_json(task("Processing"))
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        outcome = await parts.deliver("minimax-main", orjson.dumps(task("success", FILE_ID)), "d1")
        assert outcome.status == "accepted"
        await parts.run_until_idle()
    [event] = stream_events(rclient, f"{prefix}:events")
    assert (event["status"], event["assets"]) == ("running", [])
    assert [request.path for request, _ in httpserver.log] == [QUERY]  # no file to resolve


async def test_a_task_the_api_does_not_know_is_quarantined_as_unknown_task(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    expect_query(httpserver).respond_with_json(
        {"task_id": "", "status": "", "base_resp": {"status_code": 2013, "status_msg": "invalid params"}}
    )
    body = orjson.dumps(task("success", FILE_ID))
    config = api_config(prefix, redis_url, api_base(httpserver), fetch_deadline_seconds=0.3)
    async with receiver_parts(config, redis_url) as parts:
        await parts.deliver("minimax-main", body, "d2")
        await parts.run_until_idle()
    assert stream_events(rclient, f"{prefix}:events") == []
    [dead] = stream_entries(rclient, f"{prefix}:dlq")
    assert (dead["reason"], dead["body"]) == (b"unknown_task", body)
    assert len(httpserver.log) >= 2  # asked again before giving up
