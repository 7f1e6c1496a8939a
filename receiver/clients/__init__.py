"""Clients of the providers' own APIs: fetch a task or video after a thin webhook, or poll one.

Each provider with an API has one module here with a class satisfying `ResourceClient`
(`receiver/clients/base.py`), and one line in `CLIENTS`.
"""

from __future__ import annotations

from receiver.clients.base import ClientFactory, RemoteError, ResourceClient
from receiver.clients.openai import VideosClient
from receiver.clients.twelvelabs import TwelveLabsClient
from receiver.config import SourceConfig


def bailian_client(source: SourceConfig) -> ResourceClient:
    """Imported on first use: Alibaba Cloud's SDK takes about a third of a second to import, which
    every command (and every replay's wall time) would pay without a bailian source to poll."""
    from receiver.clients.bailian import BailianClient

    return BailianClient(source)


__all__ = ["CLIENTS", "ClientFactory", "RemoteError", "ResourceClient"]

# provider id -> the client of its API.
CLIENTS: dict[str, ClientFactory] = {
    "openai": VideosClient,
    "openai-compatible": VideosClient,
    "twelvelabs": TwelveLabsClient,
    "bailian": bailian_client,
}
