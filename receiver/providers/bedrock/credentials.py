"""AWS credentials for a `bedrock` source, through botocore: the signer and the asset reader share them.

Explicit keys (`access_key_id`, `secret_access_key`, `session_token`, usually `env:` references) are
used as given; without them botocore's standard chain finds them (environment, shared config and
`profile`, SSO, web identity, container or instance role) and refreshes what expires. Finding and
refreshing may read files or call a metadata or STS endpoint: that blocking work runs in a thread,
never on the event loop. Requests are signed with botocore's SigV4 signer, service `bedrock`.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import BotoCoreError
from botocore.session import Session

from receiver.foundation.errors import RemoteError
from receiver.providers.bedrock.settings import BedrockSource

if TYPE_CHECKING:
    from obstore.store import S3Credential


SIGNING_NAME = "bedrock"
# How long the asset reader may reuse chain credentials before asking the chain again (it refreshes
# what is about to expire, so asking is cheap when nothing changed).
REUSE = timedelta(minutes=5)


class AwsCredentials:
    """One source's AWS identity: frozen credentials on demand, requests signed with them."""

    def __init__(self, source: BedrockSource) -> None:
        self._source = source.id
        self._region = source.region
        self._profile = source.profile
        self._lock = threading.Lock()
        self._credentials: Credentials | None = None
        if source.access_key_id is not None and source.secret_access_key is not None:
            token = source.session_token.get_secret_value() if source.session_token else None
            self._credentials = Credentials(
                source.access_key_id.get_secret_value(), source.secret_access_key.get_secret_value(), token
            )
        self._explicit = self._credentials is not None

    def _frozen(self) -> ReadOnlyCredentials:
        """Blocking: the chain may read files or call an endpoint; run in a thread."""
        with self._lock:
            if self._credentials is None:
                try:
                    found = Session(profile=self._profile).get_credentials()
                except BotoCoreError as exc:
                    raise RemoteError(
                        f"AWS credentials of source {self._source!r}: {exc}", retryable=True
                    ) from None
                if found is None:
                    raise RemoteError(
                        f"no AWS credentials for source {self._source!r}: set access_key_id and "
                        "secret_access_key, or give the standard chain some (environment, profile, role)",
                        retryable=True,
                    )
                self._credentials = found
            credentials = self._credentials
        try:
            frozen: ReadOnlyCredentials = credentials.get_frozen_credentials()
        except BotoCoreError as exc:
            raise RemoteError(
                f"refreshing the AWS credentials of source {self._source!r}: {exc}", retryable=True
            ) from None
        return frozen

    async def frozen(self) -> ReadOnlyCredentials:
        if self._explicit:
            return self._frozen()
        return await asyncio.to_thread(self._frozen)

    async def signed_headers(self, request: httpx.Request) -> dict[str, str]:
        """The headers that sign `request` with SigV4 (`Authorization`, `X-Amz-Date`, and the session
        token when there is one): its method, URL with the query, and body."""
        signed = AWSRequest(method=request.method, url=str(request.url), data=request.content)
        SigV4Auth(await self.frozen(), SIGNING_NAME, self._region).add_auth(signed)
        return {name: value for name, value in signed.headers.items() if name.lower() != "host"}

    async def for_store(self) -> S3Credential:
        """obstore's `credential_provider` for the source's S3 reads: the same identity, renewed."""
        frozen = await self.frozen()
        credential: dict[str, Any] = {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": None if self._explicit else datetime.now(UTC) + REUSE,
        }
        return credential  # type: ignore[return-value]
