"""Every case of tests/http/corpus/hostile.json through the HTTP app: its answer, and what it left in Redis.

An authentic hostile body is quarantined whole with its reason; anything refused (401, 404, 405, 413)
leaves no key at all; nothing answers 500.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from starlette.testclient import TestClient

from receiver.app import create_app
from receiver.config import Config, parse_config
from receiver.verifiers import verifier_for
from tests.support import TOKEN, stream_entries
from tests.support.config import config_dict

CORPUS = orjson.loads((Path(__file__).parent / "corpus" / "hostile.json").read_bytes())["cases"]
OTHER_WHSEC = "whsec_" + "b3RoZXItc291cmNlLXNlY3JldC0wMTIzNDU2Nzg5"

# Tight limits, so that each limit can be crossed by a body far below max_body_bytes.
CORPUS_LIMITS = {"max_depth": 16, "max_items": 100, "max_string_bytes": 1024}


def corpus_config(prefix: str, redis_url: str) -> Config:
    data: dict[str, Any] = config_dict(prefix, redis_url)
    data["sources"] = [
        *data["sources"],
        {
            "id": "memories-signed-other",
            "provider": "memories",
            "verify": "standard-webhooks",
            "secrets": [OTHER_WHSEC],
        },
    ]
    data["limits"] = CORPUS_LIMITS
    return parse_config(data)


@pytest.fixture
def corpus_client(prefix: str, redis_url: str) -> Iterator[tuple[TestClient, Config]]:
    config = corpus_config(prefix, redis_url)
    with TestClient(create_app(config), raise_server_exceptions=True) as client:
        yield client, config


def case_body(case: dict[str, Any]) -> bytes:
    if "body_hex" in case:
        return bytes.fromhex(case["body_hex"])
    if "parts" in case:
        return b"".join(text.encode() * times for text, times in case["parts"])
    return str(case.get("body") or "").encode()


def fill(text: str, now: float) -> str:
    return (
        text.replace("{now}", str(int(now)))
        .replace("{token_prefix}", TOKEN[:-1])
        .replace("{token_upper}", TOKEN.upper())
        .replace("{token}", TOKEN)
    )


def build_request(case: dict[str, Any], config: Config) -> tuple[str, dict[str, str | bytes], bytes]:
    now = time.time()
    body = case_body(case)
    path = fill(case["path"], now)
    # As bytes: a hostile header value need not be ASCII.
    headers: dict[str, str | bytes] = {
        name: fill(value, now).encode() for name, value in case.get("headers", {}).items()
    }
    if "sign" in case:
        source = config.source(case["sign"])
        assert source is not None
        signed_over = case["sign_body"].encode() if "sign_body" in case else body
        signed_at = now + case.get("sign_offset", 0)
        signed = verifier_for(source).sign(signed_over, signed_at, f"msg-{case['name']}")
        headers.update(signed.headers)
        path += signed.path_suffix
    return path, headers, body


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
