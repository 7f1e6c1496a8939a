"""Vidu callbacks: an HMAC over the request line, `Date` and the headers it names, **not the body**.

`X-HMAC-SIGNATURE` = base64(HMAC-SHA256(key, signing string)), where the signing string is
`METHOD\\nPATH\\nQUERY\\nvidu\\nDATE\\n` followed by `Name:value\\n` for each name in
`X-HMAC-SIGNED-HEADERS` (`;`-separated, in that order, usually `Date;x-request-nonce`). PATH and QUERY
are the callback URL's, as the request arrived (an empty path is `/`); the key is the API key the task
was created with, or one of `secrets` while keys rotate. `Date` further than `tolerance_seconds` from
the receiver's clock, in either direction, is refused.

A valid signature proves the sender knows the key, not what the body says: a captured signature
replayed with another body inside the `Date` window verifies. So the scheme does not prove the body
(`proves_body=False`): a verified callback is a notification, and the task API is what is published.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from email.utils import formatdate, parsedate_to_datetime

from receiver.foundation.errors import Unauthentic
from receiver.sources import SourceConfig
from receiver.verifiers.base import METHOD, PATH, QUERY, Scheme, Signed, Verifier, check_timestamp

MAX_HEADER_LENGTH = 4096
MAX_SIGNED_HEADERS = 32
SIGNATURE = "x-hmac-signature"
SIGNED_HEADERS = "x-hmac-signed-headers"
ALGORITHM = "x-hmac-algorithm"
NONCE = "x-request-nonce"
ACCESS_KEY = "vidu"  # Vidu's fixed `X-HMAC-ACCESS-KEY`, a line of the signing string


def signing_string(method: str, path: str, query: str, date: str, signed: list[tuple[str, str]]) -> str:
    """What Vidu signs: the request line, its access key, `Date`, then each signed header `Name:value`."""
    head = f"{method.upper()}\n{path or '/'}\n{query}\n{ACCESS_KEY}\n{date}\n"
    return head + "".join(f"{name}:{value}\n" for name, value in signed)


class ViduSignature(Verifier):
    def __init__(self, keys: list[str], tolerance_seconds: int, callback_path: str) -> None:
        self._keys = [key.encode() for key in keys]
        self._tolerance = tolerance_seconds
        # Where replay and `videohooks sign` post this source's callbacks: the path their signature covers.
        self._callback_path = callback_path

    def _signatures(self, text: str) -> list[bytes]:
        return [base64.b64encode(hmac.digest(key, text.encode(), hashlib.sha256)) for key in self._keys]

    def check(self, headers: Mapping[str, str], body: bytes, token: str | None, now: float) -> str | None:
        date = headers.get("date")
        names = headers.get(SIGNED_HEADERS)
        signature = headers.get(SIGNATURE)
        if not date or not names or not signature:
            raise Unauthentic(
                "missing_signature", "Date, X-HMAC-SIGNED-HEADERS and X-HMAC-SIGNATURE headers are required"
            )
        if max(len(date), len(names), len(signature)) > MAX_HEADER_LENGTH:
            raise Unauthentic("invalid_signature", "a Vidu signature header is too long")
        algorithm = headers.get(ALGORITHM)
        if algorithm is not None and algorithm.strip().lower() != "hmac-sha256":
            raise Unauthentic("invalid_signature", f"X-HMAC-ALGORITHM {algorithm!r} is not hmac-sha256")
        try:
            sent = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            raise Unauthentic("invalid_signature", "Date is not an HTTP date") from None
        if sent.tzinfo is None:
            raise Unauthentic("invalid_signature", "Date names no zone (Vidu sends GMT)")
        check_timestamp(int(sent.timestamp()), now, self._tolerance)

        listed = [name.strip() for name in names.split(";") if name.strip()]
        if len(listed) > MAX_SIGNED_HEADERS:
            raise Unauthentic("invalid_signature", "X-HMAC-SIGNED-HEADERS names too many headers")
        signed = []
        for name in listed:
            value = headers.get(name.lower())
            if value is None:
                raise Unauthentic("missing_signature", f"the signed header {name} is missing")
            signed.append((name, value))
        text = signing_string(headers[METHOD], headers[PATH], headers[QUERY], date, signed)
        candidate = signature.strip().encode()
        matched = False
        for expected in self._signatures(text):
            matched |= hmac.compare_digest(expected, candidate)
        if not matched:
            raise Unauthentic(
                "invalid_signature", "X-HMAC-SIGNATURE matches neither the api_key nor a secret"
            )
        return None

    def sign(self, body: bytes, now: float, delivery_id: str | None = None) -> Signed:
        date = formatdate(now, usegmt=True)
        nonce = str(uuid.uuid4())
        text = signing_string("POST", self._callback_path, "", date, [("Date", date), (NONCE, nonce)])
        return Signed(
            headers={
                "Date": date,
                NONCE: nonce,
                "X-HMAC-SIGNED-HEADERS": f"Date;{NONCE}",
                "X-HMAC-ALGORITHM": "hmac-sha256",
                "X-HMAC-ACCESS-KEY": ACCESS_KEY,
                "X-HMAC-SIGNATURE": self._signatures(text)[0].decode(),
            }
        )


def _build(source: SourceConfig) -> ViduSignature:
    keys = ([] if source.api_key is None else [source.api_key.get_secret_value()]) + source.secret_values()
    return ViduSignature(keys, source.tolerance_seconds, f"/v1/callbacks/{source.id}")


SCHEME = Scheme(
    name="vidu",
    build=_build,
    credential_headers=frozenset({SIGNATURE}),
    proves_body=False,
    needs_secrets=False,
    signs_request_line=True,
    api_key_signs=True,
)
