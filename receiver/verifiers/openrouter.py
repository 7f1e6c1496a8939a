"""OpenRouter video webhooks: `X-OpenRouter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`.

The HMAC key is the workspace signing secret's UTF-8 bytes (no decoding) and the signed bytes are
`<t>,<raw body>` (a comma, where TwelveLabs has a dot). The header is split on `,`, each part on its
first `=`; any `v1` that matches an active secret passes. OpenRouter's own example refuses only stamps
more than 300 s old; a stamp as far in the future is refused too (it would extend a replay's window).

The delivery id is `X-OpenRouter-Idempotency-Key` (`<job id>-<status>`), the same on every retry.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from receiver.foundation.errors import Unauthentic
from receiver.sources import SourceConfig
from receiver.verifiers.base import Scheme, Signed, Verifier, check_timestamp

MAX_HEADER_LENGTH = 4096
SIGNATURE = "x-openrouter-signature"
IDEMPOTENCY_KEY = "x-openrouter-idempotency-key"


class OpenRouterSignature(Verifier):
    def __init__(self, secrets: list[str], tolerance_seconds: int) -> None:
        self._keys = [secret.encode() for secret in secrets]
        self._tolerance = tolerance_seconds

    def _signatures(self, timestamp: str, body: bytes) -> list[bytes]:
        signed = timestamp.encode() + b"," + body
        return [hmac.new(key, signed, hashlib.sha256).hexdigest().encode() for key in self._keys]

    def check(self, headers: Mapping[str, str], body: bytes, token: str | None, now: float) -> str | None:
        header = headers.get(SIGNATURE)
        if not header:
            raise Unauthentic("missing_signature", "the X-OpenRouter-Signature header is required")
        if len(header) > MAX_HEADER_LENGTH:
            raise Unauthentic("invalid_signature", "the X-OpenRouter-Signature header is too long")
        timestamps: list[str] = []
        candidates: list[bytes] = []
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name == "t":
                timestamps.append(value.strip())
            elif name == "v1":
                candidates.append(value.strip().lower().encode())
        timestamp = timestamps[0] if len(timestamps) == 1 else ""
        if not candidates or not timestamp.isascii() or not timestamp.isdigit():
            raise Unauthentic(
                "invalid_signature", "X-OpenRouter-Signature must read t=<unix seconds>,v1=<hex>"
            )
        check_timestamp(int(timestamp), now, self._tolerance)

        matched = False
        for signature in self._signatures(timestamp, body):
            for candidate in candidates:
                matched |= hmac.compare_digest(signature, candidate)
        if not matched:
            raise Unauthentic(
                "invalid_signature", "no v1 signature in X-OpenRouter-Signature matches an active secret"
            )
        return headers.get(IDEMPOTENCY_KEY) or None

    def sign(self, body: bytes, now: float, delivery_id: str | None = None) -> Signed:
        timestamp = str(int(now))
        signature = self._signatures(timestamp, body)[0].decode()
        headers = {"X-OpenRouter-Signature": f"t={timestamp},v1={signature}"}
        if delivery_id is not None:
            headers["X-OpenRouter-Idempotency-Key"] = delivery_id
        return Signed(headers=headers)


def _build(source: SourceConfig) -> OpenRouterSignature:
    return OpenRouterSignature(source.secret_values(), source.tolerance_seconds)


SCHEME = Scheme(name="openrouter", build=_build, credential_headers=frozenset({SIGNATURE}))
