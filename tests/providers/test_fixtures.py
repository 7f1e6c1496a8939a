"""Every stored delivery replays to its expected canonical event: pure decode, and the whole HTTP path.

The HTTP path is the one the provider's data takes in production: a callback (with, when the fixture
has a `resource`, the fetch job the app's runner does against `httpserver` playing the API), or for
poll-only providers a watched task registered through the admin route and polled from `httpserver`.

Two optional fixture keys serve this (kept in `Fixture.extra`): `resource`, what the provider's API
answers when the task of a thin callback is fetched, and `task_id`, the id a poll-only fixture's task
is watched under (default: the file's name; its `body`, of `"kind": "resource"`, is then what the API
answers each poll). In `expected`, `{api_base_url}`
stands for the source's `api_base_url` (links into the provider's API).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient

from receiver.config import Config
from receiver.core.decoding import decode, decode_resource
from receiver.foundation.errors import Quarantine
from receiver.providers import PROVIDER_SCHEMAS, PROVIDERS
from receiver.services.fixtures import Fixture, fixture_paths, load_fixture
from receiver.verifiers import SIGNATURE_SCHEMES
from schemas.event import CanonicalEvent, as_version, event_from_json, event_to_dict
from schemas.normalizing import DeliveryContext
from tests.support import ADMIN_TOKEN, FIXTURES, stream_entries
from tests.support.deliveries import post_fixture
from tests.support.waiting import wait_until

ALL_FIXTURES = list(fixture_paths([FIXTURES]))
API_BASE = "https://api.provider.test"


def fixture_id(path: Path) -> str:
    return str(path.relative_to(FIXTURES))


def without_received_at(event: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in event.items() if key != "received_at"}


def in_version_of(event: CanonicalEvent, expected: dict[str, object] | None) -> dict[str, object]:
    """The event in the version its fixture's `expected` is written in (fixtures may be in either)."""
    version: Literal[1, 2] = 1 if expected is not None and expected.get("schema_version") == 1 else 2
    return without_received_at(event_to_dict(as_version(event, version)))


def expected_event(fixture: Fixture, api_base_url: str) -> dict[str, object] | None:
    if fixture.expected is None:
        return None
    expected: dict[str, object] = orjson.loads(
        orjson.dumps(fixture.expected).replace(b"{api_base_url}", api_base_url.encode())
    )
    return expected


def decode_fixture(fixture: Fixture, ctx: DeliveryContext) -> CanonicalEvent:
    """What the receiver makes of the fixture: the callback, the fetched resource, or the polled task."""
    provider = PROVIDER_SCHEMAS[fixture.provider]
    if fixture.kind == "resource":
        return decode_resource(provider, fixture.body, ctx)
    notice = decode(provider, fixture.body, ctx)
    resource = fixture.extra.get("resource")
    if resource is None:
        return notice
    return decode_resource(provider, orjson.dumps(resource), replace(ctx, notice=notice))


def test_every_provider_has_fixtures() -> None:
    providers = {load_fixture(path).provider for path in ALL_FIXTURES}
    assert providers == set(PROVIDER_SCHEMAS)


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=fixture_id)
def test_decode_matches_expected(path: Path) -> None:
    fixture = load_fixture(path)
    ctx = DeliveryContext(
        fixture.source, fixture.provider, datetime.now(UTC), fixture.delivery_id, api_base_url=API_BASE
    )
    if fixture.expected_outcome == "quarantined":
        with pytest.raises(Quarantine) as caught:
            decode_fixture(fixture, ctx)
        assert caught.value.reason == fixture.expected_reason
        return
    event = decode_fixture(fixture, ctx)
    expected = expected_event(fixture, API_BASE)
    assert in_version_of(event, expected) == expected
    # The expected event is itself a valid canonical event.
    event_from_json(orjson.dumps({**(fixture.expected or {}), "received_at": "2026-01-01T00:00:00Z"}))


def watch_fixture(client: TestClient, fixture: Fixture) -> tuple[int, dict[str, object]]:
    response = client.post(
        f"/v1/sources/{fixture.source}/tasks",
        json={"task_id": fixture.extra.get("task_id", fixture.path.stem)},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    return response.status_code, response.json()


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=fixture_id)
def test_http_path_publishes_expected(
    path: Path, client: TestClient, config: Config, rclient: redis.Redis, prefix: str, httpserver: HTTPServer
) -> None:
    fixture = load_fixture(path)
    source = config.source(fixture.source)
    assert source is not None
    polled = PROVIDERS[fixture.provider].callbacks is None
    if fixture.kind == "resource" and not polled:
        pytest.skip("the API's answer to a fetch: decoded above, fetched end to end in test_fetch")
    if b"resultJsonFileUrl" in fixture.body:
        pytest.skip("a document the client already merged its result file into: see test_bailian")
    before = datetime.now(UTC)
    resource = fixture.extra.get("resource")
    served = fixture.body if polled else None if resource is None else orjson.dumps(resource)
    if served is not None:
        httpserver.expect_request(re.compile(".*")).respond_with_data(served, content_type="application/json")
    # Media inline in the result: the test config has no asset store, so it must be refused.
    inline = fixture.expected is not None and any(
        str(asset["url"]).startswith("inline:") for asset in fixture.expected["assets"]
    )
    if polled:
        status, answer = watch_fixture(client, fixture)
        assert answer["status"] == "watching"
    else:
        status, answer = post_fixture(client, config, fixture)
        assert inline or answer["status"] == fixture.expected_outcome
    assert status == PROVIDERS[fixture.provider].success_status

    # Fetch and poll jobs run in the app's job runner: wait for what they write.
    wait_until(lambda: rclient.xlen(f"{prefix}:events") + rclient.xlen(f"{prefix}:dlq") > 0, timeout=5)
    events = stream_entries(rclient, f"{prefix}:events")
    dead = stream_entries(rclient, f"{prefix}:dlq")
    if inline:
        # Kept by the fetch, and once more by the watch that follows its incomplete event.
        letter = dead[0]
        assert letter["reason"] == b"inline_media_without_store"
        assert b"<inline media omitted: " in letter["body"]
        assert all(
            not str(asset["url"]).startswith("inline:")
            for e in events
            for asset in orjson.loads(e["event"])["assets"]
        )
        return
    if fixture.expected_outcome == "quarantined":
        assert events == []
        assert [entry["reason"] for entry in dead] == [str(fixture.expected_reason).encode()]
        if polled:  # what the client returned: the API's document, serialized by the client
            assert orjson.loads(dead[0]["body"]) == orjson.loads(fixture.body)
        else:  # the exact bytes received
            assert dead[0]["body"] == fixture.body
        return
    assert dead == []
    assert len(events) == 1
    entry = events[0]
    published = orjson.loads(entry["event"])
    expected = expected_event(fixture, source.api_base_url or "")
    assert in_version_of(event_from_json(entry["event"]), expected) == expected
    assert before <= datetime.fromisoformat(published["received_at"]) <= datetime.now(UTC)
    assert published["received_at"].endswith("Z")
    if SIGNATURE_SCHEMES[source.verify].proves_body or resource is None:
        assert answer.get("event_id", published["event_id"]) == published["event_id"]
    else:  # an unproven notification names no event: the API's answer may be another status
        assert "event_id" not in answer
    for name in ("event_id", "source", "provider", "task_id", "status"):
        assert entry[name] == str(published[name]).encode()
    assert entry["schema_version"] == str(published["schema_version"]).encode()
