"""PixVerse's status API: `GET {api_base_url}/openapi/v2/video/result/{id}`, `{ErrCode, ErrMsg, Resp}`.

Every request carries the key in `API-KEY` and a fresh `Ai-trace-id` (PixVerse asks for a new one on
each call). A non-zero `ErrCode` is a request error whatever the HTTP status. PixVerse's codes carry
an HTTP class in their first three digits (400011 empty parameter, 400012 invalid account, 400017
invalid parameter, 500xxx its own trouble): that is the status the job queue acts on, and a code
without one may pass on another try.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx

from receiver.clients.http import api_client, get_coded
from receiver.sources import SourceConfig

RESULT_PATH = "/openapi/v2/video/result/"


def code_status(code: int) -> int | None:
    """The HTTP class PixVerse's six-digit `ErrCode` starts with (400017 → 400), if it has one."""
    status = code // 1000
    return status if 400 <= status <= 599 else None


class PixverseClient:
    def __init__(self, source: SourceConfig) -> None:
        self._source = source.id
        self._key = source.api_headers()
        self._http = api_client(source, per_request=self._with_fresh_trace_id)

    async def _with_fresh_trace_id(self, _request: httpx.Request) -> dict[str, str]:
        return {**self._key, "ai-trace-id": str(uuid.uuid4())}

    async def get_task(self, task_id: str) -> bytes:
        what = f"GET PixVerse video {task_id} ({self._source})"
        url = RESULT_PATH + quote(task_id, safe="")
        return await get_coded(self._http, url, what, ("ErrCode", "ErrMsg"), "PixVerse ErrCode", code_status)

    async def aclose(self) -> None:
        await self._http.aclose()
