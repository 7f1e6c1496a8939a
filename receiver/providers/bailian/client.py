"""Bailian (Quanmiao light app) client: polls `GetVideoAnalysisTask` through Alibaba Cloud's own SDK.

The SDK (`alibabacloud-quanmiaolightapp20240801`) does the AccessKey signing (ACS3-HMAC-SHA256) that
Alibaba Cloud's OpenAPI requires; it is pointed at the source's `api_base_url` (scheme, host and port;
default the Beijing endpoint) and told never to retry on its own: retries belong to the job queue,
which backs off without blocking the event loop (the SDK's own retry sleeps synchronously).

What `get_task` returns is the response body in the API's own camelCase form (`body.to_map()`), plus
one step of its own: when `data.payload.output.resultJsonFileUrl` names the full result (large parts
such as shot analysis are then left out inline), that JSON file is fetched and its top-level keys are
merged into `data.payload.output`, the file's value winning over the inline one (it is the complete
version). The link is time-limited: a failure to fetch it is retryable, since the next poll returns a
fresh link. The normalizer (`schemas/bailian/v1.py`) stays pure: it sees one merged document.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from alibabacloud_quanmiaolightapp20240801.client import Client
from alibabacloud_quanmiaolightapp20240801.models import GetVideoAnalysisTaskRequest
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.utils_models import Config as SdkConfig
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import TeaException

from receiver.clients.http import (
    CONNECT_TIMEOUT_SECONDS,
    FINAL_STATUSES,
    MappedTransport,
    get_json_object,
    timeout,
)
from receiver.foundation.errors import RemoteError
from receiver.providers.bailian.settings import BailianSource


class BailianClient:
    def __init__(self, source: BailianSource) -> None:
        assert source.api_base_url is not None  # the source's default, unless configured
        url = httpx.URL(source.api_base_url)
        timeout_seconds = source.api_timeout_seconds
        self._workspace_id = source.workspace_id
        self._sdk = Client(
            SdkConfig(
                access_key_id=source.access_key_id.get_secret_value(),
                access_key_secret=source.access_key_secret.get_secret_value(),
                endpoint=url.netloc.decode("ascii"),
                protocol=url.scheme,
                read_timeout=int(timeout_seconds * 1000),
                connect_timeout=int(min(timeout_seconds, CONNECT_TIMEOUT_SECONDS) * 1000),
            )
        )
        self._files = httpx.AsyncClient(timeout=timeout(source), transport=MappedTransport())

    async def get_task(self, task_id: str) -> bytes:
        what = f"Bailian video analysis task {task_id}"
        try:
            response = await self._sdk.get_video_analysis_task_with_options_async(
                self._workspace_id, GetVideoAnalysisTaskRequest(task_id=task_id), {}, RuntimeOptions()
            )
        except AlibabaCloudException as exc:
            raise _remote_error(what, exc) from None
        except TeaException as exc:
            # Transport failures, timeouts and bodies that are not JSON, wrapped by the SDK.
            raise RemoteError(f"{what}: {exc.message or exc}", retryable=True) from None
        body: dict[str, Any] = response.body.to_map()
        output = body.get("data", {}).get("payload", {}).get("output", {})
        link = output.get("resultJsonFileUrl")
        if isinstance(link, str) and link:
            output.update(await get_json_object(self._files, link, f"{what}: resultJsonFileUrl"))
        return orjson.dumps(body)

    async def aclose(self) -> None:
        await self._files.aclose()


def _remote_error(what: str, exc: AlibabaCloudException) -> RemoteError:
    status = exc.status_code
    message = f"{what}: HTTP {status} {exc.code}: {exc.message}"
    if status in FINAL_STATUSES or (status is not None and 400 <= status < 500 and status != 429):
        return RemoteError(message, retryable=False, status=status)
    # The SDK reads Alibaba Cloud's `x-acs-retry-after`, in milliseconds.
    retry_after = exc.retry_after / 1000 if exc.retry_after else None
    return RemoteError(message, retryable=True, retry_after=retry_after, status=status)
