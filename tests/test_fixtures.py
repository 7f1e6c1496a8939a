"""Every stored delivery replays to its expected canonical event: pure decode, and the whole HTTP path."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import redis
from starlette.testclient import TestClient

from receiver.config import Config
from receiver.fixtures import Fixture, fixture_paths, load_fixture
from receiver.pipeline import Quarantine, decode, decode_resource
from receiver.verifiers import verifier_for
from schemas.event import event_from_json, event_to_dict
from schemas.normalizing import DeliveryContext
from schemas.registry import PROVIDERS
from tests.support import FIXTURES, stream_entries

ALL_FIXTURES = list(fixture_paths([FIXTURES]))


def fixture_id(path: Path) -> str:
    return str(path.relative_to(FIXTURES))


def without_received_at(event: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in event.items() if key != "received_at"}


def test_every_provider_has_fixtures() -> None:
    providers = {load_fixture(path).provider for path in ALL_FIXTURES}
    assert providers == set(PROVIDERS)


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=fixture_id)
def test_decode_matches_expected(path: Path) -> None:
    fixture = load_fixture(path)
    ctx = DeliveryContext(fixture.source, fixture.provider, datetime.now(UTC), fixture.delivery_id)
    decoder = decode_resource if fixture.kind == "resource" else decode
    if fixture.expected_outcome == "quarantined":
        with pytest.raises(Quarantine) as caught:
            decoder(PROVIDERS[fixture.provider], fixture.body, ctx)
        assert caught.value.reason == fixture.expected_reason
        return
    event = decoder(PROVIDERS[fixture.provider], fixture.body, ctx)
    assert without_received_at(event_to_dict(event)) == fixture.expected
    # The expected event is itself a valid canonical event.
    event_from_json(orjson.dumps({**(fixture.expected or {}), "received_at": "2026-01-01T00:00:00Z"}))


def post_fixture(client: TestClient, config: Config, fixture: Fixture) -> tuple[int, dict[str, object]]:
    source = config.source(fixture.source)
    assert source is not None, f"the test config has no source {fixture.source}"
    signed = verifier_for(source).sign(fixture.body, time.time(), fixture.delivery_id)
    response = client.post(
        f"/v1/callbacks/{source.id}{signed.path_suffix}",
        content=fixture.body,
        headers={**fixture.headers, **signed.headers},
    )
    return response.status_code, response.json()


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=fixture_id)
def test_http_path_publishes_expected(
    path: Path, client: TestClient, config: Config, rclient: redis.Redis, prefix: str
) -> None:
    fixture = load_fixture(path)
    if fixture.kind == "resource":
        pytest.skip("a resource fixture is an API response the receiver fetches or polls, never a callback")
    before = datetime.now(UTC)
    status, answer = post_fixture(client, config, fixture)
    assert status == 202
    assert answer["status"] == fixture.expected_outcome

    events = stream_entries(rclient, f"{prefix}:events")
    dead = stream_entries(rclient, f"{prefix}:dlq")
    if fixture.expected_outcome == "quarantined":
        assert events == []
        assert [entry["reason"] for entry in dead] == [fixture.expected_reason.encode()]  # type: ignore[union-attr]
        assert dead[0]["body"] == fixture.body
        return
    assert dead == []
    assert len(events) == 1
    entry = events[0]
    published = orjson.loads(entry["event"])
    assert without_received_at(published) == fixture.expected
    assert before <= datetime.fromisoformat(published["received_at"]) <= datetime.now(UTC)
    assert published["received_at"].endswith("Z")
    assert answer["event_id"] == published["event_id"]
    for name in ("event_id", "source", "provider", "task_id", "status"):
        assert entry[name] == str(published[name]).encode()
    assert entry["schema_version"] == b"1"
