"""The delivery most tests send: a memories callback body, and Standard Webhooks headers signing it."""

from __future__ import annotations

import time

import orjson

from receiver.verifiers.standard_webhooks import StandardWebhooks
from tests.support import WHSEC


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
