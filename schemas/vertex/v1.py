"""A Veo operation on Vertex AI as `fetchPredictOperation` answers it, resource version 1.

`{name, done?, error?: google.rpc.Status, response?: {"@type": ...GenerateVideoResponse,
raiMediaFilteredCount?, raiMediaFilteredReasons?, videos?: [{gcsUri | bytesBase64Encoded, mimeType?}]}}`
(google-genai's `_GenerateVideosResponse_from_vertex` reads exactly these). `done` absent or false:
running. `done` with `error`: failed, or canceled for code 1 (CANCELLED), the code as a string. `done`
with videos: succeeded, one `video` asset each: the `gs://` URL (the caller's bucket: no expiry), or
for inline bytes an `inline:<JSON pointer>` asset the asset store resolves. `done` without videos:
failed (`rai_filtered`, the filter's reasons as the message). The operation has no time, cost or
progress; `model` is the `models/{model}` segment of the operation name.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from schemas.event import Asset, CanonicalEvent, Error, Status
from schemas.gemini.common import CANCELLED
from schemas.gemini.operation import RpcStatus
from schemas.normalizing import DeliveryContext, build_event

PROVIDER_ID = "vertex"
FILTERED = "rai_filtered"
FILTERED_MESSAGE = "the operation is done but returned no video (filtered by Vertex AI's safety checks)"
VIDEOS_POINTER = "/response/videos"


class Video(BaseModel):
    gcsUri: str | None = None
    bytesBase64Encoded: str | None = None
    mimeType: str | None = None


class VideoResponse(BaseModel):
    videos: list[Video] | None = None
    raiMediaFilteredCount: int | None = Field(default=None, ge=0)
    raiMediaFilteredReasons: list[str] | None = None


class Operation(BaseModel):
    name: str = Field(min_length=1, max_length=512)
    done: bool | None = None
    error: RpcStatus | None = None
    response: VideoResponse | None = None
    metadata: dict[str, Any] | None = None


def model_of(name: str) -> str | None:
    """`veo-3.1-generate-001` from `projects/…/models/veo-3.1-generate-001/operations/<id>`."""
    parts = name.split("/")
    for index, part in enumerate(parts[:-1]):
        if part == "models":
            return parts[index + 1] or None
    return None


def _assets(videos: list[Video]) -> list[Asset]:
    assets = []
    for index, video in enumerate(videos):
        if video.gcsUri:
            assets.append(Asset(kind="video", url=video.gcsUri, expires_at=None))
        elif video.bytesBase64Encoded:
            pointer = f"inline:{VIDEOS_POINTER}/{index}/bytesBase64Encoded"
            assets.append(Asset(kind="video", url=pointer, expires_at=None))
    return assets


def normalize(payload: Operation, ctx: DeliveryContext) -> CanonicalEvent:
    status: Status
    error = None
    assets: list[Asset] = []
    result = payload.response
    if not payload.done:
        status = "running"
    elif payload.error is not None:
        status = "canceled" if payload.error.code == CANCELLED else "failed"
        code = None if payload.error.code is None else str(payload.error.code)
        error = Error(
            code=code, message=payload.error.message or "the operation ended with an error and no message"
        )
    else:
        assets = _assets((result.videos or []) if result is not None else [])
        if assets:
            status = "succeeded"
        else:
            status = "failed"
            reasons = (result.raiMediaFilteredReasons or []) if result is not None else []
            error = Error(code=FILTERED, message="; ".join(reasons) or FILTERED_MESSAGE)
    extras: dict[str, Any] = {}
    if result is not None:
        extras["rai_media_filtered_count"] = result.raiMediaFilteredCount
        extras["rai_media_filtered_reasons"] = result.raiMediaFilteredReasons
    return build_event(
        ctx,
        task_id=payload.name,
        task_type="generation",
        status=status,
        model=model_of(payload.name),
        error=error,
        assets=assets,
        extensions={name: value for name, value in extras.items() if value is not None},
    )
