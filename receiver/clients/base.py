"""What every provider API client is: the `ResourceClient` protocol.

A client does I/O only: it returns the raw response body, which the caller validates against the
provider's `resource_versions` (schemas/) like any other payload. Every failure is a `RemoteError`
(receiver/foundation/errors.py) that says whether and when trying again can help.
"""

from __future__ import annotations

from typing import Protocol


class ResourceClient(Protocol):
    async def get_task(self, task_id: str) -> bytes:
        """The task (or video) object's JSON body, as the API returned it; raise `RemoteError` otherwise."""
        ...

    async def aclose(self) -> None: ...
