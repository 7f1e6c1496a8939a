"""fal: ED25519 signatures checked against fal's published key set (JWKS), no shared secret.

fal signs the UTF-8 bytes of `<request id>\\n<user id>\\n<timestamp>\\n<hex SHA-256 of the raw body>`
from the headers `X-Fal-Webhook-Request-Id`, `-User-Id`, `-Timestamp` (unix seconds) and puts the
64-byte signature, hex, in `X-Fal-Webhook-Signature`. Any Ed25519 key of the JWKS at the source's
`jwks_url` may verify it (fal rotates by publishing the new key beside the old).

The key set is read over HTTP, so the work is in the async `verify`; `check` is the same decision
against the keys already cached. Keys are cached for a day, read again when no cached key verifies a
delivery (a rotation), but at most once a minute, so that forged deliveries cannot make the receiver
hammer fal's endpoint. When the set cannot be read and no cached key verifies, the answer is 503 with
`Retry-After`: the delivery may be authentic, and fal retries a 503, not a 401.

Only fal holds the private key: a delivery cannot be re-signed for replay (`sign` raises `CannotSign`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

import httpx
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from receiver.clients.http import timeout
from receiver.foundation.errors import CannotSign, Unauthentic, VideohooksError, unavailable
from receiver.foundation.logs import logger
from receiver.sources import SourceConfig
from receiver.verifiers.base import Scheme, Signed, Verifier, check_timestamp

# fal's documented key set; receivers seen in the wild also use https://rest.fal.ai/.well-known/jwks.json.
DEFAULT_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
CACHE_SECONDS = 24 * 3600
REREAD_SECONDS = 60.0
MAX_HEADER_LENGTH = 4096
MAX_JWKS_BYTES = 256 * 1024
SIGNATURE_HEX_LENGTH = 128
REQUEST_ID = "x-fal-webhook-request-id"
USER_ID = "x-fal-webhook-user-id"
TIMESTAMP = "x-fal-webhook-timestamp"
SIGNATURE = "x-fal-webhook-signature"


class KeySetError(VideohooksError):
    """The key set could not be read or is not a JWKS."""


def _key(jwk: Any) -> Ed25519PublicKey | None:
    """An Ed25519 public key from one JWK, or None for any other kind of key or a malformed one."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        return None
    x = jwk.get("x")
    if not isinstance(x, str):
        return None
    try:
        # fal's live set pads `x` with "=", RFC 7517 says unpadded: both are read.
        raw = base64.b64decode(x + "=" * (-len(x) % 4), altchars=b"-_", validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        return None


def public_keys(document: bytes) -> list[Ed25519PublicKey]:
    """The Ed25519 keys of a JWKS document; a document that is no JWKS raises `KeySetError`."""
    try:
        data = orjson.loads(document)
    except orjson.JSONDecodeError as exc:
        raise KeySetError(f"not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise KeySetError('not a JWKS: no "keys" list')
    return [key for key in map(_key, data["keys"]) if key is not None]


def signed_message(
    headers: Mapping[str, str], body: bytes, now: float, tolerance_seconds: int
) -> tuple[bytes, bytes]:
    """The message fal signed and the signature, from the headers; 401 for anything missing or malformed."""
    values = [headers.get(name) for name in (REQUEST_ID, USER_ID, TIMESTAMP, SIGNATURE)]
    request_id, user_id, timestamp, signature = values
    if not request_id or not user_id or not timestamp or not signature:
        raise Unauthentic(
            "missing_signature",
            "X-Fal-Webhook-Request-Id, -User-Id, -Timestamp and -Signature headers are required",
        )
    if max(len(value) for value in (request_id, user_id, timestamp, signature)) > MAX_HEADER_LENGTH:
        raise Unauthentic("invalid_signature", "a fal webhook header is too long")
    if "\n" in request_id or "\n" in user_id:
        raise Unauthentic("invalid_signature", "a fal webhook id header holds a line break")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise Unauthentic("invalid_signature", "X-Fal-Webhook-Timestamp is not a unix timestamp in seconds")
    check_timestamp(int(timestamp), now, tolerance_seconds)
    signature = signature.strip()
    try:
        if len(signature) != SIGNATURE_HEX_LENGTH:
            raise ValueError
        raw_signature = bytes.fromhex(signature)
    except ValueError:
        raise Unauthentic("invalid_signature", "X-Fal-Webhook-Signature is not 64 bytes of hex") from None
    digest = hashlib.sha256(body).hexdigest()
    return f"{request_id}\n{user_id}\n{timestamp}\n{digest}".encode(), raw_signature


def _verifies(keys: list[Ed25519PublicKey], message: bytes, signature: bytes) -> bool:
    for key in keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False


class FalSignature(Verifier):
    def __init__(self, jwks_url: str, tolerance_seconds: int, timeout: httpx.Timeout) -> None:
        self._url = jwks_url
        self._tolerance = tolerance_seconds
        self._timeout = timeout
        self._keys: list[Ed25519PublicKey] = []
        # Times on the clock `verify` is given: the last attempt to read the set, the last success.
        self._read_at: float | None = None
        self._loaded_at: float | None = None
        # Why the last read failed; None after a successful one.
        self._read_error: str | None = None
        self._lock = asyncio.Lock()
        # Made on first use: a verifier built only to sign (replay) or to list sources opens nothing.
        self._http: httpx.AsyncClient | None = None

    def check(self, headers: Mapping[str, str], body: bytes, token: str | None, now: float) -> str | None:
        """The decision against the cached keys alone; fal sends no delivery id (None)."""
        message, signature = signed_message(headers, body, now, self._tolerance)
        if not _verifies(self._keys, message, signature):
            raise Unauthentic("invalid_signature", "X-Fal-Webhook-Signature matches no key of fal's key set")
        return None

    async def verify(
        self, headers: Mapping[str, str], body: bytes, token: str | None, now: float
    ) -> str | None:
        message, signature = signed_message(headers, body, now, self._tolerance)
        fresh = self._loaded_at is not None and now - self._loaded_at < CACHE_SECONDS
        if fresh and _verifies(self._keys, message, signature):
            return None
        await self._read(now)
        # After a failed read the keys held before are still tried: an outage of fal's key endpoint
        # should not refuse deliveries a known key proves.
        if _verifies(self._keys, message, signature):
            return None
        if self._read_error is not None:
            raise unavailable(
                f"fal's key set ({self._url}) cannot be read ({self._read_error}) and no cached key "
                "verifies this delivery: retry later"
            )
        raise Unauthentic("invalid_signature", "X-Fal-Webhook-Signature matches no key of fal's key set")

    async def _read(self, now: float) -> None:
        """Read the key set again, unless it was read (or tried) less than a minute ago."""
        async with self._lock:
            if self._read_at is not None and now - self._read_at < REREAD_SECONDS:
                return
            self._read_at = now
            try:
                keys = public_keys(await self._download())
            except KeySetError as exc:
                self._read_error = str(exc)
                logger.warning("fal.jwks_unreadable", url=self._url, error=self._read_error)
                return
            self._keys, self._loaded_at, self._read_error = keys, now, None
            logger.info("fal.jwks_read", url=self._url, keys=len(keys))

    async def _download(self) -> bytes:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout, follow_redirects=True)
        try:
            response = await self._http.get(self._url, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise KeySetError(f"{exc.__class__.__name__}: {exc}") from None
        if response.status_code != 200:
            raise KeySetError(f"HTTP {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise KeySetError(f"larger than {MAX_JWKS_BYTES} bytes")
        return response.content

    def sign(self, body: bytes, now: float, delivery_id: str | None = None) -> Signed:
        raise CannotSign(
            "fal signs its webhooks with its own private key, which the receiver never has: a fal "
            'delivery cannot be re-signed. Replay it with --direct, or to a source with verify = "none".'
        )

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _no_secrets(secret: str) -> None:
    raise ValueError('verify = "fal" takes no secrets: its keys are read from jwks_url')


def _build(source: SourceConfig) -> FalSignature:
    return FalSignature(source.jwks_url or DEFAULT_JWKS_URL, source.tolerance_seconds, timeout(source))


SCHEME = Scheme(
    name="fal",
    build=_build,
    credential_headers=frozenset({SIGNATURE}),
    needs_secrets=False,
    check_secret=_no_secrets,
    source_keys=frozenset({"jwks_url"}),
)
