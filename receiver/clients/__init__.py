"""Clients of the providers' own APIs: fetch a task or video after a thin webhook, or poll one.

Each provider with an API has one module here with a class satisfying `ResourceClient`
(`receiver/clients/base.py`), and one line in `CLIENTS`.
"""

from __future__ import annotations

from receiver.clients.bailian import BailianClient
from receiver.clients.base import ClientFactory, RemoteError, ResourceClient
from receiver.clients.openai import VideosClient
from receiver.clients.twelvelabs import TwelveLabsClient

__all__ = ["CLIENTS", "ClientFactory", "RemoteError", "ResourceClient"]

# provider id -> the client of its API.
CLIENTS: dict[str, ClientFactory] = {
    "openai": VideosClient,
    "openai-compatible": VideosClient,
    "twelvelabs": TwelveLabsClient,
    "bailian": BailianClient,
}
