"""Deliveries the tests send: a memories callback body, Standard Webhooks headers signing it, and a stored
fixture posted signed as its source verifies."""

from __future__ import annotations

import time

import orjson
from starlette.testclient import TestClient

from receiver.config import Config
from receiver.providers import verifier_for
from receiver.services.fixtures import Fixture
from receiver.verifiers.standard_webhooks import StandardWebhooks
from tests.support import WHSEC, answer_of


def memories_body(task_id: str = "task-1", code: object = 200) -> bytes:
    return orjson.dumps(
        {
            "code": code,
            "message": "SUCCESS",
            "task_id": task_id,
            "data": {
                "msg": "ok",
                "success": True,
                "data": {
                    "data": [
                        {"start_time": 1.5, "end_time": 3.0, "transcript": "b"},
                        {"start_time": 0.0, "end_time": 1.5, "transcript": "a"},
                    ]
                },
            },
        }
    )


def signed_headers(body: bytes, msg_id: str = "msg_1", now: float | None = None) -> dict[str, str]:
    return StandardWebhooks([WHSEC], 300).sign(body, time.time() if now is None else now, msg_id).headers


def post_fixture(client: TestClient, config: Config, fixture: Fixture) -> tuple[int, dict[str, object]]:
    source = config.source(fixture.source)
    assert source is not None, f"the test config has no source {fixture.source}"
    signed = verifier_for(source).sign(fixture.body, time.time(), fixture.delivery_id)
    response = client.post(
        f"/v1/callbacks/{source.id}{signed.path_suffix}",
        content=fixture.body,
        headers={**fixture.headers, **signed.headers},
    )
    return response.status_code, answer_of(response)
