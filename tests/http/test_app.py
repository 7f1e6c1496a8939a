"""The HTTP contract of a callback: every answer, and what each leaves (or does not leave) in Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis
from starlette.testclient import TestClient

from receiver.config import parse_config
from receiver.http.app import create_app
from tests.support import ADMIN_TOKEN, TOKEN, free_port, live_receiver, stream_entries
from tests.support.config import config_dict
from tests.support.deliveries import memories_body, signed_headers


def test_accepted_event_is_in_the_stream_with_index_fields(
    client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    body = memories_body()
    response = client.post(
        "/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "msg_a")
    )
    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    assert response.headers["x-request-id"]
    [entry] = stream_entries(rclient, f"{prefix}:events")
    event = orjson.loads(entry["event"])
    assert event["delivery_id"] == "msg_a"
    assert [segment["text"] for segment in event["segments"]] == ["a", "b"]
    assert entry["source"] == b"memories-signed"
    assert entry["task_id"] == b"task-1"
    assert entry["status"] == b"succeeded"


def test_same_delivery_twice_is_one_event(client: TestClient, rclient: redis.Redis, prefix: str) -> None:
    body = memories_body()
    first = client.post("/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "msg_r"))
    # A retry: same webhook-id, fresh timestamp.
    second = client.post("/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "msg_r"))
    assert (first.json()["status"], second.json()["status"]) == ("accepted", "duplicate")
    assert first.json()["event_id"] == second.json()["event_id"]
    assert len(stream_entries(rclient, f"{prefix}:events")) == 1


def test_same_task_and_status_under_another_delivery_id_is_a_duplicate(
    client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    body = memories_body()
    client.post("/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "msg_1"))
    again = client.post("/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "msg_2"))
    assert again.json()["status"] == "duplicate"
    assert len(stream_entries(rclient, f"{prefix}:events")) == 1


def test_terminal_status_is_final(client: TestClient, rclient: redis.Redis, prefix: str) -> None:
    succeeded = memories_body("t-final")
    failed = memories_body("t-final", code=500)
    assert (
        client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=succeeded).json()["status"] == "accepted"
    )
    assert client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=failed).json()["status"] == "stale"
    assert [e["status"] for e in stream_entries(rclient, f"{prefix}:events")] == [b"succeeded"]


def test_quarantine_keeps_the_exact_bytes(client: TestClient, rclient: redis.Redis, prefix: str) -> None:
    body = b'{"code": 200, "message": "no task id"}'
    response = client.post(
        f"/v1/callbacks/memories-main/{TOKEN}",
        content=body,
        headers={"x-api-key": "sk-private", "x-trace": "t1"},
    )
    assert response.status_code == 202
    assert response.json() == {"status": "quarantined", "reason": "unknown_schema_version"}
    [dead] = stream_entries(rclient, f"{prefix}:dlq")
    assert dead["body"] == body
    assert dead["source"] == b"memories-main"
    assert b"task_id" in dead["detail"]  # readable: names what is missing
    headers = orjson.loads(dead["headers"])
    assert headers["x-trace"] == "t1"
    assert "x-api-key" not in headers
    assert dead["received_at"].endswith(b"Z")
    assert stream_entries(rclient, f"{prefix}:events") == []


@pytest.mark.parametrize(
    ("path", "headers", "code"),
    [
        ("/v1/callbacks/memories-signed", {}, "missing_signature"),
        (
            "/v1/callbacks/memories-signed",
            {"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,x"},
            "timestamp_out_of_tolerance",
        ),
        ("/v1/callbacks/memories-main/wrong-token", {}, "invalid_token"),
        ("/v1/callbacks/memories-main", {}, "missing_signature"),
        ("/v1/callbacks/memories-tl", {"tl-signature": "t=1,v1=zz"}, "timestamp_out_of_tolerance"),
    ],
)
def test_unauthentic_deliveries_store_nothing(
    client: TestClient, rclient: redis.Redis, prefix: str, path: str, headers: dict[str, str], code: str
) -> None:
    response = client.post(path, content=memories_body(), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert list(rclient.scan_iter(match=f"{prefix}:*")) == []


def test_bad_signature_with_fresh_timestamp(client: TestClient) -> None:
    body = memories_body()
    headers = signed_headers(body)
    response = client.post("/v1/callbacks/memories-signed", content=body + b" ", headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_signature")


def test_rotated_out_token_still_accepted_while_listed(client: TestClient) -> None:
    response = client.post("/v1/callbacks/memories-main/old-token", content=memories_body("rot"))
    assert response.json()["status"] == "accepted"


@pytest.mark.parametrize(
    "path", ["/v1/callbacks/nope", f"/v1/callbacks/nope/{TOKEN}", "/v1/callbacks/memories-signed/some-token"]
)
def test_unknown_source(client: TestClient, path: str) -> None:
    response = client.post(path, content=b"{}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_source"


def test_too_large_by_declared_length_and_by_stream(
    client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    big = b"x" * 70_000
    response = client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=big)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no content-length: the limit holds while reading
        for _ in range(20):
            yield b"y" * 4096

    response = client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=chunks())
    assert response.status_code == 413
    assert list(rclient.scan_iter(match=f"{prefix}:*")) == []


def test_redis_down_answers_503_quickly(prefix: str) -> None:
    config = parse_config(config_dict(prefix, f"redis://127.0.0.1:{free_port()}/0"))
    with TestClient(create_app(config)) as client:
        started = time.monotonic()
        response = client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=memories_body())
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "unavailable"
        assert int(response.headers["retry-after"]) > 0
        assert elapsed < 2.0
        assert client.get("/readyz").status_code == 503
        # Routes that read Redis directly answer the same way, not with a 500.
        admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        for path in ("/v1/dlq", "/v1/events", "/v1/sources/veo-relay/tasks/t1"):
            answer = client.get(path, headers=admin)
            assert (answer.status_code, answer.json()["error"]["code"]) == (503, "unavailable"), path
            assert answer.headers["retry-after"] and answer.headers["x-request-id"]


def test_health_and_metrics(client: TestClient) -> None:
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").json() == {"status": "ready"}
    client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=memories_body("m1"))
    client.post("/v1/callbacks/memories-main/bad", content=memories_body("m1"))
    text = client.get("/metrics").text
    assert 'videohooks_deliveries_total{outcome="accepted",source="memories-main"}' in text
    assert 'videohooks_deliveries_total{outcome="unauthentic",source="memories-main"}' in text
    assert "videohooks_publish_batch_size_bucket" in text
    assert TOKEN not in text


def test_logs_one_json_line_per_delivery_without_the_token(config_file: Path) -> None:
    with live_receiver(config_file) as receiver:
        httpx.post(
            f"{receiver.url}/v1/callbacks/memories-main/{TOKEN}",
            content=memories_body("log-1"),
            headers={"x-request-id": "req-42"},
        )
        httpx.post(f"{receiver.url}/v1/callbacks/memories-main/{TOKEN}x", content=memories_body("log-1"))
    lines = [orjson.loads(line) for line in receiver.log().splitlines() if line.startswith("{")]
    deliveries = [line for line in lines if line.get("event") == "delivery"]
    assert [(d["outcome"], d["source"]) for d in deliveries] == [
        ("accepted", "memories-main"),
        ("unauthentic", "memories-main"),
    ]
    assert deliveries[0]["request_id"] == "req-42"
    assert deliveries[0]["event_id"]
    assert deliveries[0]["level"] == "info"
    assert TOKEN not in receiver.log()
