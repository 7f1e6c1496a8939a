"""TwelveLabs: `TL-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.

The key is the secret string's bytes as they are (no base64 decoding). The delivery id is not in a
header: it is the envelope's `id`, read by the twelvelabs normalizer.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from receiver.foundation.errors import Unauthentic
from receiver.sources import SourceConfig
from receiver.verifiers.base import Scheme, Signed, Verifier, check_timestamp

MAX_HEADER_LENGTH = 4096


class TwelveLabsSignature(Verifier):
    def __init__(self, secrets: list[str], tolerance_seconds: int) -> None:
        self._keys = [secret.encode() for secret in secrets]
        self._tolerance = tolerance_seconds

    def _signatures(self, timestamp: str, body: bytes) -> list[str]:
        signed = timestamp.encode() + b"." + body
        return [hmac.new(key, signed, hashlib.sha256).hexdigest() for key in self._keys]

    def check(self, headers: Mapping[str, str], body: bytes, token: str | None, now: float) -> str | None:
        header = headers.get("tl-signature")
        if not header:
            raise Unauthentic("missing_signature", "the TL-Signature header is required")
        if len(header) > MAX_HEADER_LENGTH:
            raise Unauthentic("invalid_signature", "the TL-Signature header is too long")
        timestamp = None
        candidates: list[str] = []
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            if key == "t":
                timestamp = value
            elif key == "v1":
                candidates.append(value)
        if timestamp is None or not timestamp.isascii() or not timestamp.isdigit() or not candidates:
            raise Unauthentic("invalid_signature", "TL-Signature must read t=<unix seconds>,v1=<hex>")
        check_timestamp(int(timestamp), now, self._tolerance)

        matched = False
        for signature in self._signatures(timestamp, body):
            for candidate in candidates:
                matched |= hmac.compare_digest(signature.encode(), candidate.lower().encode())
        if not matched:
            raise Unauthentic("invalid_signature", "no v1 signature in TL-Signature matches an active secret")
        return None

    def sign(self, body: bytes, now: float, delivery_id: str | None = None) -> Signed:
        timestamp = str(int(now))
        signature = self._signatures(timestamp, body)[0]
        return Signed(headers={"TL-Signature": f"t={timestamp},v1={signature}"})


def _build(source: SourceConfig) -> TwelveLabsSignature:
    return TwelveLabsSignature(source.secret_values(), source.tolerance_seconds)


SCHEME = Scheme(name="twelvelabs", build=_build, credential_headers=frozenset({"tl-signature"}))
