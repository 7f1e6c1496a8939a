"""Google OAuth2 access tokens for a `vertex` source, through google-auth, for the poller and the assets.

`credentials_file` is a service account key (whose `token_uri` is where the signed assertion is
exchanged) or an authorized user's credentials, its type checked when the configuration loads; without
it, Application Default Credentials (which also take a workload identity federation config). The
scope is `cloud-platform`. A token is refreshed when google-auth no longer calls it valid (a few
minutes before it expires), one refresh at a time; the exchange is a blocking HTTP call made in a
thread, never on the event loop. Tokens go into headers only, never into logs or errors.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import google.auth
import httpx
import orjson
import urllib3
from google.auth.credentials import Credentials
from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError
from google.auth.transport.urllib3 import Request
from google.oauth2 import credentials as user
from google.oauth2 import service_account

from receiver.foundation.errors import RemoteError

if TYPE_CHECKING:
    from obstore.store import GCSCredential

SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class GoogleCredentials:
    """One source's Google identity: a valid access token on demand."""

    def __init__(self, source_id: str, credentials_file: str | None) -> None:
        self._source = source_id
        self._file = credentials_file
        self._credentials: Credentials | None = None
        self._lock = asyncio.Lock()
        self._http = urllib3.PoolManager()

    def _refreshed(self) -> Credentials:
        """Blocking: loading ADC may ask the metadata server, and refreshing calls the token endpoint."""
        credentials = self._credentials
        if credentials is None:
            if self._file is not None:
                credentials = _from_file(self._file)
            else:
                credentials, _ = google.auth.default(scopes=[SCOPE])
            self._credentials = credentials
        credentials.refresh(Request(self._http))
        return credentials

    async def token(self) -> str:
        async with self._lock:
            credentials = self._credentials
            if credentials is None or not credentials.valid:
                try:
                    credentials = await asyncio.to_thread(self._refreshed)
                except GoogleAuthError as exc:
                    raise RemoteError(
                        f"Google credentials of source {self._source!r}: {exc.__class__.__name__}: "
                        f"{_without_token(exc)}",
                        retryable=True,
                    ) from None
            token = credentials.token
            if not isinstance(token, str):
                raise RemoteError(
                    f"Google credentials of source {self._source!r} gave no token", retryable=True
                )
            return token

    async def headers(self, _request: httpx.Request) -> dict[str, str]:
        """A request's bearer token (the client's `per_request`)."""
        return {"authorization": f"Bearer {await self.token()}"}

    async def for_store(self) -> GCSCredential:
        """obstore's `credential_provider` for the source's Cloud Storage reads: the same token."""
        token = await self.token()
        assert self._credentials is not None  # set by `token`
        credential: dict[str, Any] = {"token": token, "expires_at": _aware(self._credentials.expiry)}
        return credential  # type: ignore[return-value]

    def close(self) -> None:
        self._http.clear()


def _from_file(path: str) -> Credentials:
    """The file's credentials, loaded by the class of its declared `type` (google-auth's advice rather
    than its generic loader): a service account key (exchanged at its `token_uri`) or a user's."""
    kind = orjson.loads(Path(path).read_bytes()).get("type")
    loaded: Credentials
    if kind == "service_account":
        loaded = service_account.Credentials.from_service_account_file(path, scopes=[SCOPE])
        return loaded
    if kind == "authorized_user":
        loaded = user.Credentials.from_authorized_user_file(path, scopes=[SCOPE])
        return loaded
    raise DefaultCredentialsError(
        f"{path}: credentials of type {kind!r} are not loaded from credentials_file"
    )


def _aware(expiry: datetime | None) -> datetime | None:
    """google-auth keeps expiry as naive UTC; obstore wants it with its zone."""
    return None if expiry is None else expiry.replace(tzinfo=UTC)


def _without_token(exc: GoogleAuthError) -> str:
    """The error's first line: google-auth's refresh errors quote the token endpoint's answer, which
    names the failure (`invalid_grant`) and carries no token."""
    return str(exc.args[0]) if exc.args else str(exc)
