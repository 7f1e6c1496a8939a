"""Authentication edge cases that need more than one request: captured replays and token guessing.

The single-request cases (missing, empty, malformed, oversized headers; another source's signature;
timestamps far off) are in the hostile corpus.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import orjson
import pytest
import redis
from starlette.testclient import TestClient

from receiver.config import parse_config
from receiver.http.app import create_app
from tests.support import TOKEN, stream_entries
from tests.support.clock import MovableClock
from tests.support.config import config_dict
from tests.support.deliveries import memories_body, signed_headers


@dataclass
class ShortWindow:
    client: TestClient
    clock: MovableClock


@pytest.fixture
def short_window(prefix: str, redis_url: str) -> Iterator[ShortWindow]:
    """memories-signed with a one-second tolerance, on a clock the test moves past it."""
    data = config_dict(prefix, redis_url)
    for source in data["sources"]:
        source["tolerance_seconds"] = 1
    clock = MovableClock()
    with TestClient(create_app(parse_config(data), clock=clock)) as client:
        yield ShortWindow(client, clock)


def test_captured_delivery_replayed_inside_then_after_the_window(
    short_window: ShortWindow, rclient: redis.Redis, prefix: str
) -> None:
    body = memories_body("replayed")
    captured = signed_headers(body, "msg_captured")
    path = "/v1/callbacks/memories-signed"
    client = short_window.client

    first = client.post(path, content=body, headers=captured)
    inside = client.post(path, content=body, headers=captured)
    assert (first.json()["status"], inside.json()["status"]) == ("accepted", "duplicate")
    assert inside.json()["event_id"] == first.json()["event_id"]

    short_window.clock.advance(1.5)  # past the tolerance of 1 s either way
    after = client.post(path, content=body, headers=captured)
    assert (after.status_code, after.json()["error"]["code"]) == (401, "timestamp_out_of_tolerance")
    assert len(stream_entries(rclient, f"{prefix}:events")) == 1


def test_a_delivery_is_received_at_the_time_of_the_clock_that_checked_its_signature(
    short_window: ShortWindow, rclient: redis.Redis, prefix: str
) -> None:
    short_window.clock.advance(0.5)  # ahead of the wall clock, still inside the tolerance
    body = memories_body("clocked")
    before = short_window.clock()
    answer = short_window.client.post(
        "/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "msg_clocked", before)
    )
    after = short_window.clock()
    assert answer.json()["status"] == "accepted"
    [entry] = stream_entries(rclient, f"{prefix}:events")
    received_at = datetime.fromisoformat(orjson.loads(entry["event"])["received_at"]).timestamp()
    assert before - 0.001 <= received_at <= after


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
