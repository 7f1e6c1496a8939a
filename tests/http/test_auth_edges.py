"""Authentication edge cases that need more than one request: captured replays and token guessing.

The single-request cases (missing, empty, malformed, oversized headers; another source's signature;
timestamps far off) are in the hostile corpus.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from starlette.testclient import TestClient

from receiver.app import create_app
from receiver.config import parse_config
from tests.support import TOKEN, stream_entries
from tests.support.config import config_dict
from tests.support.deliveries import memories_body, signed_headers


@pytest.fixture
def short_window_client(prefix: str, redis_url: str) -> Iterator[TestClient]:
    """memories-signed with a one-second tolerance, so that a replay can outlive its window quickly."""
    data = config_dict(prefix, redis_url)
    for source in data["sources"]:  # type: ignore[attr-defined]
        source["tolerance_seconds"] = 1
    with TestClient(create_app(parse_config(data))) as client:
        yield client


def test_captured_delivery_replayed_inside_then_after_the_window(
    short_window_client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    body = memories_body("replayed")
    captured = signed_headers(body, "msg_captured")
    path = "/v1/callbacks/memories-signed"

    first = short_window_client.post(path, content=body, headers=captured)
    inside = short_window_client.post(path, content=body, headers=captured)
    assert (first.json()["status"], inside.json()["status"]) == ("accepted", "duplicate")
    assert inside.json()["event_id"] == first.json()["event_id"]

    time.sleep(2.2)  # the tolerance is 1 s either way
    after = short_window_client.post(path, content=body, headers=captured)
    assert (after.status_code, after.json()["error"]["code"]) == (401, "timestamp_out_of_tolerance")
    assert len(stream_entries(rclient, f"{prefix}:events")) == 1


def test_url_token_guessing_is_refused_every_time(
    client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    guesses = [
        TOKEN[:-1] + alphabet for alphabet in "0123456789abcdefghijklmnopqrstuvwxyz" if alphabet != TOKEN[-1]
    ]
    guesses += [TOKEN[:length] for length in range(0, len(TOKEN), 3)] + [TOKEN + "0", TOKEN.upper()]
    codes = {
        client.post(f"/v1/callbacks/memories-main/{guess}", content=memories_body()).json()["error"]["code"]
        for guess in guesses
        if guess
    }
    assert codes == {"invalid_token"}
    assert list(rclient.scan_iter(match=f"{prefix}:*")) == []
    # The real token still works after the guessing.
    response = client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=memories_body("after-guessing"))
    assert response.json()["status"] == "accepted"
