"""fal's queue: `GET {base}/{app}/requests/{id}/status`, then, once COMPLETED without an error, the
result at `GET {base}/{app}/requests/{id}`, both with `Authorization: Key <api_key>`.

`app` is the model id without its subpath (`fal-ai/kling-video/v2/master/text-to-video` is under
`fal-ai/kling-video`; ids in the `workflows` and `comfy` namespaces keep three parts), as fal's client
builds it. Like fal's client, any success answer of the status route is taken (202 while a request
waits is seen in the wild; fal's client accepts every 2xx): 200 and 202.

What `get_task` returns is the status document with the request's id added as `request_id` (fal's
names none) and, for a request completed without an error, the result as `payload`: one document
for the pure normalizer (schemas/fal/v1.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson

from receiver.clients.http import api_client, get_json_value, remote_status_error
from receiver.foundation.errors import RemoteError
from receiver.providers.fal.settings import FalSource

NAMESPACES = frozenset({"workflows", "comfy"})
PENDING = 202


def app_path(model_id: str) -> str:
    """The part of a model id the queue's request routes live under."""
    parts = model_id.strip("/").split("/")
    return "/".join(parts[: 3 if parts[0] in NAMESPACES else 2])


class FalQueueClient:
    def __init__(self, source: FalSource) -> None:
        if source.model_id is None:
            message = f"source {source.id!r} has no model_id to find its requests under"
            raise RemoteError(message, retryable=False)
        self._source = source.id
        self._app = app_path(source.model_id)
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        route = f"/{self._app}/requests/{quote(task_id, safe='')}"
        what = f"fal request {task_id} ({self._source})"
        response = await self._http.get(f"{route}/status", extensions={"what": what})
        if response.status_code not in (200, PENDING):
            raise remote_status_error(response, f"{what}: status")
        try:
            document: Any = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise RemoteError(f"{what}: the status is not JSON ({exc})", retryable=True) from None
        if not isinstance(document, dict):
            raise RemoteError(f"{what}: the status is not a JSON object", retryable=True)
        document["request_id"] = task_id
        if document.get("status") == "COMPLETED" and document.get("error") is None:
            document["payload"] = await get_json_value(self._http, route, f"{what}: result")
        return orjson.dumps(document)

    async def aclose(self) -> None:
        await self._http.aclose()
