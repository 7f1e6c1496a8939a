"""One API client per source, made on first use and closed together when the job runner stops."""

from __future__ import annotations

from receiver.clients import CLIENTS, RemoteError, ResourceClient
from receiver.config import SourceConfig


class ClientPool:
    def __init__(self) -> None:
        self._clients: dict[str, ResourceClient] = {}

    def get(self, source: SourceConfig) -> ResourceClient:
        """The source's client; a `RemoteError` that retrying cannot fix when the source cannot have one."""
        client = self._clients.get(source.id)
        if client is not None:
            return client
        factory = CLIENTS.get(source.provider)
        if factory is None:
            raise RemoteError(f"no API client for provider {source.provider!r}", retryable=False)
        try:
            client = factory(source)
        except ValueError as exc:
            raise RemoteError(str(exc), retryable=False) from None
        self._clients[source.id] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
