"""Vertex AI's `fetchPredictOperation`: the state of a Veo long-running operation.

`POST {api_base_url}/v1/{resource}:fetchPredictOperation` with `{"operationName": <task id>}`, where the
task id is the full operation name (`projects/…/locations/…/publishers/google/models/{model}/operations/{id}`)
and `{resource}` the part before `/operations/` (as google-genai builds it). Authenticated with an
OAuth2 access token (`GoogleCredentials`) or an express-mode API key (`x-goog-api-key`, `api_key`).
"""

from __future__ import annotations

from urllib.parse import quote

from receiver.clients.http import api_client, json_object, remote_status_error
from receiver.foundation.errors import RemoteError
from receiver.providers.vertex.credentials import GoogleCredentials
from receiver.providers.vertex.settings import VertexSource

API_VERSION = "/v1"
OPERATIONS = "/operations/"


def fetch_path(operation_name: str) -> str:
    """`/v1/projects/p/locations/l/publishers/google/models/m:fetchPredictOperation`; a name without
    `/operations/` is no operation (a 404 without asking)."""
    resource, separator, _ = operation_name.rpartition(OPERATIONS)
    if not separator or not resource:
        raise RemoteError(
            f"{operation_name!r} is not a Vertex operation name (…/models/{{model}}/operations/{{id}})",
            retryable=False,
            status=404,
        )
    return f"{API_VERSION}/{quote(resource, safe='/')}:fetchPredictOperation"


class VertexClient:
    def __init__(self, source: VertexSource) -> None:
        self._source = source.id
        self._google = (
            None if source.api_key is not None else GoogleCredentials(source.id, source.credentials_file)
        )
        self._http = api_client(source, per_request=None if self._google is None else self._google.headers)

    async def get_task(self, task_id: str) -> bytes:
        what = f"POST Vertex fetchPredictOperation {task_id} ({self._source})"
        path = fetch_path(task_id)
        response = await self._http.post(path, json={"operationName": task_id}, extensions={"what": what})
        if response.status_code != 200:
            raise remote_status_error(response, what)
        json_object(response.content, what)
        return response.content

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._google is not None:
            self._google.close()
