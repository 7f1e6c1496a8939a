"""Gemini's per-request webhooks: `webhook-signature` is an RS256 JWT, not Standard Webhooks entries.

Static webhooks sign with `v1,<base64>` entries the standard-webhooks scheme checks. A request's own
`webhook_config` makes Gemini sign with a JWT (three base64url parts, keys in Google's JWKS); which
claims bind it to the body and to this receiver (audience, body hash) is not documented, so it cannot
be verified here. Refusing it would make Gemini retry for a day unseen: it is recognised (a JOSE header
that decodes) and kept in the dead-letter stream as `unverified_signature`, never published.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

import orjson

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
MAX_HEADER_LENGTH = 8192


def _jose_header(token: str) -> dict[str, object] | None:
    parts = token.split(".")
    if len(parts) != 3 or not all(_BASE64URL.fullmatch(part) for part in parts):
        return None
    encoded = parts[0].rstrip("=")
    try:
        header = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError):
        return None
    return header if isinstance(header, dict) and "alg" in header else None


def unverifiable_signature(headers: Mapping[str, str]) -> str | None:
    """Why a delivery signed with a JWT is kept unproven, or None for every other form."""
    value = (headers.get("webhook-signature") or "").strip()
    if not value or len(value) > MAX_HEADER_LENGTH or value.startswith("v1"):
        return None
    header = _jose_header(value)
    if header is None:
        return None
    return (
        f"webhook-signature is a JWT (alg {header.get('alg')!r}, kid {header.get('kid')!r}): a Gemini "
        "per-request webhook (webhook_config), which this receiver cannot verify; register a static "
        "webhook (Standard Webhooks) for this source instead. Kept unproven, never published."
    )
