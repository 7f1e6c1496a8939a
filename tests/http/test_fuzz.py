"""Hypothesis properties of the callback routes, against a real Redis.

(a) Any bytes under any headers, to any callback route: never a 500, never an event without a valid
    signature. (b) Any validly signed body: exactly one of an event or a quarantined delivery.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.support.deliveries import signed_headers

FUZZ_SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

SIGNATURE_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature", "tl-signature", "content-length"]
header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
    st.sampled_from(
        ["", "v1,", "t=,v1=", str(int(time.time())), f"t={int(time.time())},v1=00", "v1," + "A" * 44]
    ),
)
callback_paths = st.one_of(
    st.sampled_from(
        ["/v1/callbacks/memories-signed", "/v1/callbacks/memories-tl", "/v1/callbacks/memories-main"]
    ),
    st.text(alphabet="abcdef0123456789-_", min_size=1, max_size=40).map(
        lambda token: f"/v1/callbacks/memories-main/{token}"
    ),
)


@FUZZ_SETTINGS
@given(
    path=callback_paths,
    headers=st.dictionaries(st.sampled_from(SIGNATURE_HEADERS), header_values, max_size=4),
    body=st.one_of(st.binary(max_size=2048), st.text(max_size=512).map(str.encode)),
)
def test_any_bytes_and_headers_never_crash_nor_publish(
    client: TestClient, rclient: redis.Redis, prefix: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    headers.pop("content-length", None)  # a lying length is the transport's business, not ours
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"]
    assert rclient.exists(f"{prefix}:events", f"{prefix}:dlq") == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
segments = st.lists(
    st.fixed_dictionaries(
        {
            "start_time": st.floats(-5, 1e6) | st.integers(),
            "end_time": st.floats(0, 1e6),
            "transcript": st.text(),
        }
    ),
    max_size=5,
)
memories_payloads = st.fixed_dictionaries(
    {
        "code": st.sampled_from([200, "200", "0000", 500, "E1", None]),
        "message": st.none() | st.text(max_size=20),
        "data": st.none()
        | st.fixed_dictionaries(
            {
                "msg": st.none() | st.text(max_size=20),
                "success": st.none() | st.booleans(),
                "data": st.none()
                | st.fixed_dictionaries(
                    {
                        "data": st.none() | segments,
                        "error_rate": st.none() | st.floats(),
                        "usage_metadata": st.fixed_dictionaries(
                            {
                                "duration": st.floats(0, 1e9),
                                "model": st.text(max_size=30),
                                "output_tokens": st.integers(min_value=-1, max_value=10**30),
                                "prompt_tokens": st.integers(min_value=0, max_value=10**6),
                            }
                        ),
                    }
                ),
            }
        ),
    }
)


def with_unique_task(payload: dict[str, Any]) -> dict[str, Any]:
    """A task of its own, so that an accepted event is never a duplicate of an earlier example's."""
    return {**payload, "task_id": uuid.uuid4().hex}


@FUZZ_SETTINGS
@given(payload=st.one_of(memories_payloads.map(with_unique_task), json_values))
def test_any_signed_body_is_an_event_or_a_quarantine(
    client: TestClient, rclient: redis.Redis, prefix: str, payload: Any
) -> None:
    body = json.dumps(payload).encode()  # NaN and Infinity included, as a lax sender writes them
    before = (rclient.xlen(f"{prefix}:events"), rclient.xlen(f"{prefix}:dlq"))
    response = client.post(
        "/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, uuid.uuid4().hex)
    )
    after = (rclient.xlen(f"{prefix}:events"), rclient.xlen(f"{prefix}:dlq"))
    assert response.status_code == 202, response.text
    status = response.json()["status"]
    assert status in ("accepted", "quarantined")
    grown = (after[0] - before[0], after[1] - before[1])
    assert grown == ((1, 0) if status == "accepted" else (0, 1))
