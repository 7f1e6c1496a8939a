"""The memories.ai callback the bench sends, and its Standard Webhooks signature.

Bodies are built as `prefix + task_id + suffix` so that the wrk Lua script can rebuild the exact
signed bytes from a short per-delivery record instead of holding hundreds of MB of bodies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson

from bench.settings import SECRET

SEGMENTS = 20
_TASK_MARK = "\x00TASK\x00"

_SENTENCES = (
    "A man in a red jacket walks a brown dog along a sandy beach at dusk.",
    "The camera pans left to a lighthouse on the cliff; gulls circle above.",
    "Two children build a sandcastle as the tide reaches their moat.",
    "Close-up of footprints in wet sand, erased by the foam of a wave.",
)


def memories_payload(task_id: str) -> dict[str, object]:
    """A successful memories.ai async-description callback with 20 segments (about 2.5 KB)."""
    segments = [
        {
            "start_time": round(i * 4.5, 1),
            "end_time": round((i + 1) * 4.5, 1),
            "transcript": _SENTENCES[i % len(_SENTENCES)],
        }
        for i in range(SEGMENTS)
    ]
    return {
        "code": 200,
        "message": "SUCCESS",
        "task_id": task_id,
        "data": {
            "msg": "ok",
            "success": True,
            "data": {
                "data": segments,
                "error_rate": 0.0,
                "usage_metadata": {
                    "duration": 3.2,
                    "model": "gemini-2.5-flash-lite",
                    "output_tokens": 120,
                    "prompt_tokens": 5400,
                },
            },
        },
    }


def body_template() -> tuple[bytes, bytes]:
    """(prefix, suffix) of the compact JSON body; the task id goes between them, unescaped.

    Task ids the bench makes are plain ASCII without quotes or backslashes, so splicing them in
    gives the same bytes as serializing the whole payload.
    """
    raw = orjson.dumps(memories_payload(_TASK_MARK))
    mark = orjson.dumps(_TASK_MARK)[1:-1]
    prefix, suffix = raw.split(mark)
    return prefix, suffix


def secret_key(secret: str = SECRET) -> bytes:
    """The HMAC key of a `whsec_` secret: the base64-decoded part after the prefix."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def check_signer() -> None:
    """Refuse to run with a signer that disagrees with the Standard Webhooks specification's test vector."""
    got = sign(secret_key(), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    if got != want:
        raise RuntimeError(f"Standard Webhooks signer is wrong: {got} != {want}")
