"""What every provider API client is: the `ResourceClient` protocol and its one error type.

A client does I/O only: it returns the raw response body, which the caller validates
against the provider's `resource_versions` (schemas/) like any other payload. Every failure is a
`RemoteError` that says whether and when trying again can help.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from receiver.config import SourceConfig


class RemoteError(Exception):
    """The provider's API did not return the resource.

    `retryable` is False when asking again cannot help (401, 403, 404, a malformed request);
    `retry_after` is the provider's own `Retry-After` in seconds, when it gave one.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class ResourceClient(Protocol):
    async def get_task(self, task_id: str) -> bytes:
        """The task (or video) object's JSON body, as the API returned it; raise `RemoteError` otherwise."""
        ...

    async def aclose(self) -> None: ...


ClientFactory = Callable[[SourceConfig], ResourceClient]
