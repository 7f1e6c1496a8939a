"""DashScope's task API: `GET {api_base_url}/api/v1/tasks/{task_id}` with a Bearer key.

The answer is returned with the source's `time_zone` added (the normalizer reads the zone-less task
times in it). A task DashScope answers `UNKNOWN` for (HTTP 200: not found, expired after 24 h, or not
visible to this key or region) is reported as not found, like a 404: a watch keeps asking until its
deadline (a task just submitted may not be visible yet) and then publishes `failed` with
`deadline_exceeded`, the last error naming UNKNOWN. Never `succeeded`.
"""

from __future__ import annotations

from urllib.parse import quote

import orjson

from receiver.clients.http import api_client, get_json_object
from receiver.foundation.errors import RemoteError
from receiver.providers.dashscope.settings import DashscopeSource

UNKNOWN = "UNKNOWN"


class DashscopeClient:
    def __init__(self, source: DashscopeSource) -> None:
        self._source = source.id
        self._time_zone = source.time_zone
        self._http = api_client(source)

    async def get_task(self, task_id: str) -> bytes:
        what = f"DashScope task {task_id} ({self._source})"
        document = await get_json_object(self._http, f"/api/v1/tasks/{quote(task_id, safe='')}", what)
        output = document.get("output")
        if isinstance(output, dict) and output.get("task_status") == UNKNOWN:
            raise RemoteError(
                f"{what}: UNKNOWN (not found, expired, or not visible to this key and region)",
                retryable=False,
                status=404,
            )
        document["time_zone"] = self._time_zone
        return orjson.dumps(document)

    async def aclose(self) -> None:
        await self._http.aclose()
