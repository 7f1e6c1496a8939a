"""A high-entropy token in the registered callback URL, for providers that sign nothing (memories.ai).

Both sides are hashed before the constant-time comparison, so that not even the token's length leaks
through timing. The token never appears in a log line: the app logs the source id, not the path.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from receiver.foundation.errors import Unauthentic
from receiver.verifiers.base import Scheme, Signed, Verifier


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class UrlToken(Verifier):
    def __init__(self, secrets: list[str]) -> None:
        self._current = secrets[0]
        self._digests = [_digest(secret) for secret in secrets]

    def check(self, headers: Mapping[str, str], body: bytes, token: str | None, now: float) -> str | None:
        if not token:
            raise Unauthentic(
                "missing_signature",
                "this source is authenticated by a token: POST /v1/callbacks/{source}/{token}",
            )
        candidate = _digest(token)
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(digest, candidate)
        if not matched:
            raise Unauthentic("invalid_token", "the token in the callback URL is not an active secret")
        return None

    def sign(self, body: bytes, now: float, delivery_id: str | None = None) -> Signed:
        return Signed(path_suffix=f"/{self._current}")


# The token travels in the path, not in a header: nothing to strip from a dead letter.
SCHEME = Scheme(
    name="url-token",
    build=lambda source: UrlToken(source.secret_values()),
    proves_body=False,
    token_in_path=True,
)
