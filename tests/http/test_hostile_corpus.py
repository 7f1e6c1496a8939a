"""Every case of tests/http/corpus/hostile.json through the HTTP app: its answer, and what it left in Redis.

An authentic hostile body is quarantined whole with its reason; anything refused (401, 404, 405, 413)
leaves no key at all; nothing answers 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from receiver.config import Config
from receiver.http.app import create_app
from tests.support import stream_entries
from tests.support.corpus import CORPUS, build_request, corpus_config


@pytest.fixture
def corpus_client(prefix: str, redis_url: str) -> Iterator[tuple[TestClient, Config]]:
    config = corpus_config(prefix, redis_url)
    with TestClient(create_app(config), raise_server_exceptions=True) as client:
        yield client, config


@pytest.mark.parametrize("case", CORPUS, ids=[case["name"] for case in CORPUS])
def test_hostile_case(
    case: dict[str, Any],
    corpus_client: tuple[TestClient, Config],
    rclient: redis.Redis,
    prefix: str,
) -> None:
    client, config = corpus_client
    path, headers, body = build_request(case, config)
    response = client.request(case.get("method", "POST"), path, content=body, headers=headers)

    assert response.status_code == case["status"], response.text
    answer = response.json()
    events = stream_entries(rclient, f"{prefix}:events")
    if case["status"] != 202:
        assert answer["error"]["code"] == case["code"]
        assert list(rclient.scan_iter(match=f"{prefix}:*")) == []
    elif case.get("accepted"):
        assert answer["status"] == "accepted"
        assert len(events) == 1
    else:
        assert answer == {"status": "quarantined", "reason": case["reason"]}
        [dead] = stream_entries(rclient, f"{prefix}:dlq")
        assert dead["reason"] == case["reason"].encode()
        assert dead["body"] == body
        assert events == []


def test_corpus_covers_every_quarantine_reason_and_refusal() -> None:
    """The README promises one case per reason code and per refusal: keep the corpus that complete."""
    reasons = {case["reason"] for case in CORPUS if "reason" in case}
    codes = {case["code"] for case in CORPUS if "code" in case}
    assert reasons == {
        "empty_body",
        "invalid_utf8",
        "invalid_json",
        "non_finite_number",
        "number_out_of_range",
        "duplicate_keys",
        "not_an_object",
        "too_deep",
        "too_many_items",
        "string_too_long",
        "unknown_schema_version",
    }
    assert codes == {
        "missing_signature",
        "invalid_signature",
        "timestamp_out_of_tolerance",
        "invalid_token",
        "unknown_source",
        "not_found",
        "method_not_allowed",
        "payload_too_large",
    }
