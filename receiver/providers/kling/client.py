"""Kling's task query: `GET {api_base_url}/v1/{task_path}/{task_id}`, answered `{code, message, data}`.

A `code` other than 0 is a request error whatever the HTTP status: it becomes a `RemoteError` with the
HTTP status Kling's error table gives that code, so that the fetch job treats it as it would the status
(a task Kling does not know, 1202/1203, is a 404: asked again until the fetch deadline, then the
notification is quarantined as `unknown_task`). A code the table does not list takes the answer's HTTP
status, and with a 200 it may pass: retryable.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import orjson

from receiver.clients.http import api_client, remote_status_error, retry_after_seconds
from receiver.foundation.errors import RemoteError
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


class _FreshHeaders(httpx.Auth):
    """The source's `api_headers()` on each request, not once per client: Kling's tokens expire."""

    def __init__(self, source: KlingSource) -> None:
        self._source = source

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._source.api_headers())
        yield request


class KlingClient:
    def __init__(self, source: KlingSource) -> None:
        self._source = source.id
        self._path = f"/v1/{source.task_path}/"
        self._http = api_client(source, headers={})
        self._http.auth = _FreshHeaders(source)

    async def get_task(self, task_id: str) -> bytes:
        what = f"GET Kling task {task_id} ({self._source})"
        response = await self._http.get(self._path + quote(task_id, safe=""), extensions={"what": what})
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            answer = None
        code = answer.get("code") if isinstance(answer, dict) else None
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            raise _code_error(response, what, code, answer.get("message"))
        if response.status_code != 200:
            raise remote_status_error(response, what)
        if answer is None:
            raise RemoteError(f"{what}: the response is not JSON", retryable=True)
        return response.content

    async def aclose(self) -> None:
        await self._http.aclose()


def _code_error(response: httpx.Response, what: str, code: int, message: object) -> RemoteError:
    status = code_status(code) or (response.status_code if response.status_code != 200 else None)
    return RemoteError(
        f"{what}: Kling code {code}: {message}",
        retryable=status is None or status == 429 or status >= 500,
        retry_after=retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC)),
        status=status,
    )
