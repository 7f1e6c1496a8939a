"""PixVerse's status API: `GET {api_base_url}/openapi/v2/video/result/{id}`, `{ErrCode, ErrMsg, Resp}`.

Every request carries the key in `API-KEY` and a fresh `Ai-trace-id` (PixVerse asks for a new one on
each call). A non-zero `ErrCode` is a request error whatever the HTTP status. PixVerse's codes carry
an HTTP class in their first three digits (400011 empty parameter, 400012 invalid account, 400017
invalid parameter, 500xxx its own trouble): that is the status the job queue acts on, and a code
without one may pass on another try.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import orjson

from receiver.clients.http import api_client, remote_status_error, retry_after_seconds
from receiver.errors import RemoteError, http_errors
from receiver.sources import SourceConfig

RESULT_PATH = "/openapi/v2/video/result/"


async def _fresh_trace_id(request: httpx.Request) -> None:
    request.headers["ai-trace-id"] = str(uuid.uuid4())


def code_status(code: int) -> int | None:
    """The HTTP class PixVerse's six-digit `ErrCode` starts with (400017 → 400), if it has one."""
    status = code // 1000
    return status if 400 <= status <= 599 else None


class PixverseClient:
    def __init__(self, source: SourceConfig) -> None:
        self._source = source.id
        self._http = api_client(source)
        self._http.event_hooks["request"] = [_fresh_trace_id]

    async def get_task(self, task_id: str) -> bytes:
        what = f"GET PixVerse video {task_id} ({self._source})"
        with http_errors(what):
            response = await self._http.get(RESULT_PATH + quote(task_id, safe=""))
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            answer = None
        code = answer.get("ErrCode") if isinstance(answer, dict) else None
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            assert isinstance(answer, dict)
            status = code_status(code) or (response.status_code if response.status_code != 200 else None)
            raise RemoteError(
                f"{what}: PixVerse ErrCode {code}: {answer.get('ErrMsg')}",
                retryable=status is None or status == 429 or status >= 500,
                retry_after=retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC)),
                status=status,
            )
        if response.status_code != 200:
            raise remote_status_error(response, what)
        if answer is None:
            raise RemoteError(f"{what}: the response is not JSON", retryable=True)
        return response.content

    async def aclose(self) -> None:
        await self._http.aclose()
