"""PixVerse webhooks: `Webhook-Signature` = base64(HMAC-SHA256(secret, "<ts>\\n<nonce>\\n<payload>")).

The payload is not the raw body but the body's top-level fields as a URL query string, keys sorted,
keys and values escaped as `application/x-www-form-urlencoded` (Go's `url.Values.Encode`: space as
`+`, `-_.~` kept), `true`/`false` for booleans and numbers as written in the body. Python's JSON parser
hands over each number's text before converting it, so `10.50` stays `10.50` and an id above 2^53
never passes through a float. `Webhook-Timestamp` is in Unix seconds; the key is the webhook's secret
key (its UTF-8 bytes); any active secret may match.

PixVerse documents nothing for `null`, objects or arrays at the top level: such a body is kept
unproven in the dead-letter stream (`unverified_signature`) rather than verified against a guessed
form. A nonce repeated inside the window needs no memory here: the same body is the same event, which
the publisher's dedupe answers `duplicate`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

from receiver.foundation.errors import Quarantine, Unauthentic
from receiver.sources import SourceConfig
from receiver.verifiers.base import Scheme, Signed, Verifier, check_timestamp
from receiver.verifiers.unproven_forms import UNVERIFIED_SIGNATURE

MAX_HEADER_LENGTH = 4096
TIMESTAMP = "webhook-timestamp"
NONCE = "webhook-nonce"
SIGNATURE = "webhook-signature"
NONCE_ALPHABET = string.ascii_letters + string.digits


class _Number(str):
    """A JSON number as its text in the body."""


class _Ambiguous(ValueError):
    """The body names a key twice: which value was signed cannot be told."""


def _members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise _Ambiguous("the body names a key twice")
    return members


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_JSON_KINDS = {type(None): "null", dict: "an object", list: "an array"}


def _value_text(value: object) -> str | None:
    """How PixVerse writes a top-level value in the signed string; None where it documents nothing."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # a string, or a number's text (_Number)
        return value
    return None


def signed_payload(body: bytes) -> str:
    """The form-encoded string PixVerse signs for `body`.

    Raises `Unauthentic` when the body is not one JSON object (nothing to sign), `Quarantine` when it
    holds a value whose form PixVerse does not document.
    """
    try:
        document = json.loads(
            body,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_no_constant,
            object_pairs_hook=_members,
        )
    except (ValueError, RecursionError) as exc:
        raise Unauthentic(
            "invalid_signature", f"the body is not JSON PixVerse could have signed: {exc}"
        ) from None
    if not isinstance(document, dict):
        raise Unauthentic(
            "invalid_signature", "the body is not a JSON object: PixVerse signs an object's fields"
        )
    pairs = []
    for key in sorted(document):
        text = _value_text(document[key])
        if text is None:
            raise Quarantine(
                UNVERIFIED_SIGNATURE,
                f"the field {key!r} is {_JSON_KINDS.get(type(document[key]), 'a value')}: PixVerse "
                "documents how it signs strings, numbers and booleans only, so this delivery cannot be "
                "verified",
            )
        pairs.append(f"{quote_plus(key, safe='')}={quote_plus(text, safe='')}")
    return "&".join(pairs)


class PixVerseSignature(Verifier):
    def __init__(self, secrets_: list[str], tolerance_seconds: int) -> None:
        self._keys = [secret.encode() for secret in secrets_]
        self._tolerance = tolerance_seconds

    def _signatures(self, timestamp: str, nonce: str, body: bytes) -> list[bytes]:
        message = f"{timestamp}\n{nonce}\n{signed_payload(body)}".encode()
        return [base64.b64encode(hmac.digest(key, message, hashlib.sha256)) for key in self._keys]

    def check(self, headers: Mapping[str, str], body: bytes, token: str | None, now: float) -> str | None:
        timestamp = headers.get(TIMESTAMP)
        nonce = headers.get(NONCE)
        signature = headers.get(SIGNATURE)
        if not timestamp or not nonce or not signature:
            raise Unauthentic(
                "missing_signature",
                "Webhook-Timestamp, Webhook-Nonce and Webhook-Signature headers are required",
            )
        if max(len(timestamp), len(nonce), len(signature)) > MAX_HEADER_LENGTH:
            raise Unauthentic("invalid_signature", "a PixVerse signature header is too long")
        if not timestamp.isascii() or not timestamp.isdigit():
            raise Unauthentic("invalid_signature", "Webhook-Timestamp is not a unix timestamp in seconds")
        check_timestamp(int(timestamp), now, self._tolerance)

        candidate = signature.strip().encode()
        matched = False
        for expected in self._signatures(timestamp, nonce, body):
            matched |= hmac.compare_digest(expected, candidate)
        if not matched:
            raise Unauthentic("invalid_signature", "Webhook-Signature matches no active secret")
        # PixVerse sends no delivery id (`Ai-Trace-Id` is a trace, not a delivery): dedupe is per status.
        return None

    def sign(self, body: bytes, now: float, delivery_id: str | None = None) -> Signed:
        timestamp = str(int(now))
        nonce = "".join(secrets.choice(NONCE_ALPHABET) for _ in range(32))
        signature = self._signatures(timestamp, nonce, body)[0].decode()
        return Signed(
            headers={"Webhook-Timestamp": timestamp, "Webhook-Nonce": nonce, "Webhook-Signature": signature}
        )


def _build(source: SourceConfig) -> PixVerseSignature:
    return PixVerseSignature(source.secret_values(), source.tolerance_seconds)


SCHEME = Scheme(name="pixverse", build=_build, credential_headers=frozenset({SIGNATURE}))
