"""One API client per source, made on first use and closed together when the job runner stops."""

from __future__ import annotations

from receiver.clients.base import ResourceClient
from receiver.errors import RemoteError
from receiver.providers import PROVIDERS
from receiver.sources import SourceConfig


class ClientPool:
    def __init__(self) -> None:
        self._clients: dict[str, ResourceClient] = {}

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
