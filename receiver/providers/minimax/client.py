"""MiniMax's task API: the video generation task, and on success its file, in one merged document.

`GET {api_base_url}/v1/query/video_generation?task_id=<id>` (Bearer) answers the task; once it says
`Success` with a `file_id`, `GET {api_base_url}/v1/files/retrieve?file_id=<id>` answers the file with its
`download_url`. The client merges that file object into the task as `file`, and the unix time it asked
as `file_retrieved_at` (the link lives 9 h from then), so that the normalizer stays pure.

MiniMax answers errors with HTTP 200 and a non-zero `base_resp.status_code`. A task document with a
status word is the task (a failed one carries its reason there, for the normalizer); without one, the
code is an error of the request: 1002/1039 (rate limits) and 1000/1001/1013 (server trouble) are worth
retrying, 1004/2049 (authentication) are not, and any other code (invalid parameters: a task or file id
MiniMax does not know) is taken as "not found", like a 404.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import orjson

from receiver.clients.http import api_client, get_json_object
from receiver.foundation.errors import RemoteError
from receiver.sources import SourceConfig

RETRYABLE_CODES = frozenset({1000, 1001, 1002, 1013, 1039})
AUTH_CODES = frozenset({1004, 2049})


class MinimaxClient:
    def __init__(self, source: SourceConfig) -> None:
        self._source = source.id
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        what = f"MiniMax video task {task_id} ({self._source})"
        task = await self._get(f"/v1/query/video_generation?task_id={quote(task_id, safe='')}", what)
        file_id = task.get("file_id")
        if str(task.get("status", "")).lower() == "success" and file_id not in (None, ""):
            what = f"MiniMax file {file_id} of task {task_id} ({self._source})"
            retrieved_at = int(time.time())
            answer = await self._get(f"/v1/files/retrieve?file_id={quote(str(file_id), safe='')}", what)
            file = answer.get("file")
            if not isinstance(file, dict):
                raise RemoteError(f"{what}: the answer has no file object", retryable=True)
            task["file"] = file
            task["file_retrieved_at"] = retrieved_at
        return orjson.dumps(task)

    async def _get(self, url: str, what: str) -> dict[str, Any]:
        document = await get_json_object(self._http, url, what)
        resp = document.get("base_resp")
        code = resp.get("status_code") if isinstance(resp, dict) else None
        if code not in (0, None) and not document.get("status"):
            assert isinstance(resp, dict)
            raise _api_error(code, resp.get("status_msg"), what)
        return document

    async def aclose(self) -> None:
        await self._http.aclose()


def _api_error(code: object, message: object, what: str) -> RemoteError:
    text = f"{what}: MiniMax error {code}: {message}"
    if code in RETRYABLE_CODES:
        return RemoteError(text, retryable=True, status=429 if code in (1002, 1039) else 503)
    return RemoteError(text, retryable=False, status=401 if code in AUTH_CODES else 404)
