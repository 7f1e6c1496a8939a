"""Fixed Standard Webhooks test vectors (replicate, gemini's static webhook), and the checks each must pass.

Both providers' vectors are checked the same way: with an injected clock (the vectors are stale
against the real one), against the reference package `standardwebhooks`, and refused when a body
byte, the timestamp or a header is wrong. Each provider's test file runs `vector_checks` on its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from receiver.verifiers import Unauthentic, Verifier

TS = 1795176000  # 2026-11-20T12:00:00Z
NOW = TS + 60
OTHER_WHSEC = "whsec_dmlkZW9ob29rcy1yZXBsaWNhdGUtb2xkLWtleS0wMDA="


@dataclass(frozen=True)
class Vector:
    secret: str
    msg_id: str
    body: bytes
    length: int
    sha256: str
    signature: str

    def headers(self, **changes: str) -> dict[str, str]:
        headers = {
            "webhook-id": self.msg_id,
            "webhook-timestamp": str(TS),
            "webhook-signature": self.signature,
        }
        headers.update(changes)
        return {name: value for name, value in headers.items() if value}


def check_body(vector: Vector) -> None:
    assert len(vector.body) == vector.length
    assert hashlib.sha256(vector.body).hexdigest() == vector.sha256


def check_verifies(vector: Vector, verifier: Verifier) -> None:
    assert verifier.check(vector.headers(), vector.body, None, NOW) == vector.msg_id


def check_reference(vector: Vector) -> None:
    """The reference package computes the vector's signature, and accepts what our verifier signs now."""
    reference = Webhook(vector.secret)
    assert (
        reference.sign(vector.msg_id, datetime.fromtimestamp(TS, UTC), vector.body.decode())
        == vector.signature
    )


def check_refusals(vector: Vector, verifier: Verifier) -> None:
    changed = bytearray(vector.body)
    changed[10] ^= 1
    cases: list[tuple[dict[str, str], bytes, str]] = [
        (vector.headers(), bytes(changed), "invalid_signature"),
        (vector.headers(**{"webhook-timestamp": str(TS - 301)}), vector.body, "timestamp_out_of_tolerance"),
        (vector.headers(**{"webhook-timestamp": str(TS + 421)}), vector.body, "timestamp_out_of_tolerance"),
        (vector.headers(**{"webhook-timestamp": "2026-11-20T12:00:00Z"}), vector.body, "invalid_signature"),
        (
            vector.headers(**{"webhook-signature": "v1;" + vector.signature[3:]}),
            vector.body,
            "invalid_signature",
        ),
        (vector.headers(**{"webhook-signature": "v1,not base64!"}), vector.body, "invalid_signature"),
    ]
    for missing in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        cases.append((vector.headers(**{missing: ""}), vector.body, "missing_signature"))
    for headers, body, code in cases:
        with pytest.raises(Unauthentic) as caught:
            verifier.check(headers, body, None, NOW)
        assert caught.value.code == code, (headers, code)
    # The key id is the secret: a signature made with a key not in the source's set is refused.
    other = Webhook(OTHER_WHSEC).sign(vector.msg_id, datetime.fromtimestamp(TS, UTC), vector.body.decode())
    with pytest.raises(Unauthentic) as caught:
        verifier.check(vector.headers(**{"webhook-signature": other}), vector.body, None, NOW)
    assert caught.value.code == "invalid_signature"


def check_signed_now_passes_reference(vector: Vector, verifier: Verifier, now: float) -> None:
    signed = verifier.sign(vector.body, now, vector.msg_id)
    Webhook(vector.secret).verify(vector.body, signed.headers)
