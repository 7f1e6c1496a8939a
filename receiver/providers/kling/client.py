"""Kling's task query: `GET {api_base_url}/v1/{task_path}/{task_id}`, answered `{code, message, data}`.

A `code` other than 0 is a request error whatever the HTTP status: it becomes a `RemoteError` with the
HTTP status Kling's error table gives that code, so that the fetch job treats it as it would the status
(a task Kling does not know, 1202/1203, is a 404: asked again until the fetch deadline, then the
notification is quarantined as `unknown_task`). A code the table does not list takes the answer's HTTP
status, and with a 200 it may pass: retryable.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from receiver.clients.http import api_client, get_coded
from receiver.providers.kling.settings import KlingSource

# Kling's error codes, inclusive ranges, with the HTTP status its reference lists for each.
CODE_STATUSES = (
    (1000, 1004, 401),  # authentication: the token or the keys are wrong
    (1100, 1103, 403),  # the account: in arrears, out of resource packs, not allowed this resource
    (1200, 1201, 400),  # invalid request parameters
    (1202, 1203, 404),  # no such method or resource (a task id Kling does not know)
    (1300, 1301, 400),  # refused by the platform's policy or content safety
    (1302, 1303, 429),  # too many requests, too many concurrent tasks
    (1304, 1304, 403),  # the caller's IP is not on the allow list
    (5000, 5000, 500),
    (5001, 5001, 503),
    (5002, 5002, 504),
)


def code_status(code: int) -> int | None:
    return next((status for first, last, status in CODE_STATUSES if first <= code <= last), None)


class KlingClient:
    def __init__(self, source: KlingSource) -> None:
        self._source = source.id
        self._path = f"/v1/{source.task_path}/"
        self._settings = source
        self._http = api_client(source, per_request=self._fresh_token)

    async def _fresh_token(self, _request: httpx.Request) -> dict[str, str]:
        """Made for each request, not once per client: Kling's tokens expire."""
        return self._settings.api_headers()

    async def get_task(self, task_id: str) -> bytes:
        what = f"GET Kling task {task_id} ({self._source})"
        url = self._path + quote(task_id, safe="")
        return await get_coded(self._http, url, what, ("code", "message"), "Kling code", code_status)

    async def aclose(self) -> None:
        await self._http.aclose()
