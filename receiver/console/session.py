"""Console sign-in: a signed, expiring session cookie, a CSRF token bound to it, and the origin check.

The session is stateless: the cookie holds a random session id and its issue time, signed (itsdangerous)
with a key derived from the admin token. Changing the admin token therefore signs every session out.
The CSRF token of a session is an HMAC of its id under a second derived key: a page can only submit a
form with a token it was given, and a token is worth nothing with another session. Every POST must
also come from the console's own origin (Origin, else Referer), which a cross-site form cannot fake.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request

COOKIE = "videohooks_console"
SESSION_SECONDS = 8 * 3600
CSRF_FIELD = "csrf"


def _derive(token: str, purpose: str) -> bytes:
    return hmac.new(token.encode(), f"videohooks console {purpose}".encode(), hashlib.sha256).digest()


class Sessions:
    """Issue and check sessions and CSRF tokens, all keyed on the configured admin token."""

    def __init__(self, admin_token: str) -> None:
        self._admin_digest = hashlib.sha256(admin_token.encode()).digest()
        self._serializer = URLSafeTimedSerializer(
            _derive(admin_token, "session"), salt="videohooks.console.session"
        )
        self._csrf_key = _derive(admin_token, "csrf")

    def is_admin_token(self, presented: str) -> bool:
        return hmac.compare_digest(self._admin_digest, hashlib.sha256(presented.strip().encode()).digest())

    def issue(self) -> str:
        """A new session's cookie value."""
        return self._serializer.dumps({"sid": secrets.token_urlsafe(16)})

    def session_id(self, cookie: str | None) -> str | None:
        """The id of a valid, unexpired session, or None."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:  # SignatureExpired is one too
            return None
        sid = data.get("sid") if isinstance(data, dict) else None
        return sid if isinstance(sid, str) else None

    def csrf_token(self, session_id: str) -> str:
        return hmac.new(self._csrf_key, session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, session_id: str, presented: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session_id), presented)


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of this host: Origin when sent, else Referer.

    Browsers send Origin on every POST (a privacy setting may leave only Referer); a request with
    neither is not from a browser form, and is let through to the CSRF check, which it must pass alone.
    """
    own = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == own
    referer = request.headers.get("referer")
    if referer is not None:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}" == own
    return True
