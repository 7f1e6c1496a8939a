"""One API client per source, made on first use and closed together when the job runner stops."""

from __future__ import annotations

from receiver.clients.base import ResourceClient
from receiver.foundation.errors import RemoteError
from receiver.foundation.logs import logger
from receiver.providers import PROVIDERS
from receiver.sources import SourceConfig

# What a provider's API answers when it does not take the source's credentials.
KEY_REJECTED = frozenset({401, 403})


class ClientPool:
    def __init__(self) -> None:
        self._clients: dict[str, ResourceClient] = {}
        self._warned: set[str] = set()

    def key_rejected(self, source: SourceConfig, error: RemoteError) -> bool:
        """Whether `error` says the source's credentials are wrong; said once per source and process
        in the log, with the fix, so that a rejected key is one clear line rather than one per poll."""
        if error.status not in KEY_REJECTED:
            return False
        if source.id not in self._warned:
            self._warned.add(source.id)
            logger.error(
                "api.key_rejected",
                source=source.id,
                provider=source.provider,
                error=str(error),
                fix="the provider's API refuses this source's credentials: set a valid api_key (or the "
                "provider's own keys) in the source's config and restart; calls go on at the slowest "
                "pace (max_interval_seconds) meanwhile",
            )
        return True

    def get(self, source: SourceConfig) -> ResourceClient:
        """The source's client; a `RemoteError` that retrying cannot fix when the source cannot have one."""
        client = self._clients.get(source.id)
        if client is not None:
            return client
        factory = PROVIDERS[source.provider].client
        if factory is None:
            raise RemoteError(f"provider {source.provider!r} has no API client", retryable=False)
        client = self._clients[source.id] = factory(source)
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
