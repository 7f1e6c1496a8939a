"""Standard Webhooks (used by OpenAI): `webhook-id`, `webhook-timestamp`, `webhook-signature` headers.

The key is the base64 part of `whsec_<base64>`; the signed bytes are `<id>.<timestamp>.<raw body>`;
the signature header is a space-separated list of `v1,<base64 HMAC-SHA256>` entries, several while a
secret rotates. `v1a` (asymmetric) entries are ignored. The PyPI package `standardwebhooks` is the
reference this module is tested against in both directions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Mapping

from receiver.foundation.errors import Unauthentic
from receiver.sources import SourceConfig
from receiver.verifiers.base import Scheme, Signed, Verifier, check_timestamp

MAX_HEADER_LENGTH = 4096


def decode_secret(secret: str) -> bytes:
    """`whsec_<base64>` (or the bare base64) to the HMAC key; refused at config load if not base64."""
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a standard-webhooks secret must be whsec_ followed by base64") from None


class StandardWebhooks(Verifier):
    def __init__(self, secrets: list[str], tolerance_seconds: int) -> None:
        self._keys = [decode_secret(secret) for secret in secrets]
        self._tolerance = tolerance_seconds

    def _signatures(self, msg_id: str, timestamp: int, body: bytes) -> list[bytes]:
        signed = f"{msg_id}.{timestamp}.".encode() + body
        return [base64.b64encode(hmac.digest(key, signed, hashlib.sha256)) for key in self._keys]

    def check(self, headers: Mapping[str, str], body: bytes, token: str | None, now: float) -> str | None:
        msg_id = headers.get("webhook-id")
        raw_timestamp = headers.get("webhook-timestamp")
        signature_header = headers.get("webhook-signature")
        if not msg_id or not raw_timestamp or not signature_header:
            raise Unauthentic(
                "missing_signature",
                "webhook-id, webhook-timestamp and webhook-signature headers are required",
            )
        if max(len(msg_id), len(raw_timestamp), len(signature_header)) > MAX_HEADER_LENGTH:
            raise Unauthentic("invalid_signature", "a webhook signature header is too long")
        if not raw_timestamp.isascii() or not raw_timestamp.isdigit():
            raise Unauthentic("invalid_signature", "webhook-timestamp is not a unix timestamp in seconds")
        timestamp = int(raw_timestamp)
        check_timestamp(timestamp, now, self._tolerance)

        expected = self._signatures(msg_id, timestamp, body)
        matched = False
        for entry in signature_header.split(" "):
            version, _, value = entry.partition(",")
            if version != "v1":
                continue
            candidate = value.encode()
            for signature in expected:
                matched |= hmac.compare_digest(signature, candidate)
        if not matched:
            raise Unauthentic(
                "invalid_signature", "no v1 entry of webhook-signature matches an active secret"
            )
        return msg_id

    def sign(self, body: bytes, now: float, delivery_id: str | None = None) -> Signed:
        msg_id = delivery_id or f"msg_{uuid.uuid4().hex}"
        timestamp = int(now)
        signature = self._signatures(msg_id, timestamp, body)[0].decode()
        return Signed(
            headers={
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": f"v1,{signature}",
            }
        )


def _build(source: SourceConfig) -> StandardWebhooks:
    return StandardWebhooks(source.secret_values(), source.tolerance_seconds)


SCHEME = Scheme(
    name="standard-webhooks",
    build=_build,
    credential_headers=frozenset({"webhook-signature"}),
    check_secret=decode_secret,
)
