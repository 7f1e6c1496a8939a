"""A Veo operation as `GET /v1beta/{name}` returns it (`predictLongRunning`), resource version 1.

`done` absent or false: running. `done` with `error` (google.rpc.Status): failed, or canceled for code
1 (CANCELLED). `done` with samples: succeeded, one video asset per sample: its `video.uri` (a Files API
download link, fetched with the API key) or, for `encodedVideo` (base64), an `inline:<JSON pointer>`
asset the asset store resolves, never the bytes. `done` without samples (RAI-filtered): failed with
the filter's reasons. The operation carries no time: `expires_at` (48 h retention) is derived from the
webhook's timestamp, else from when the receiver saw the operation done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from schemas.event import Asset, CanonicalEvent, Error, Status
from schemas.gemini.common import CANCELLED, RETENTION, done_at, model_of, rpc_code_name
from schemas.normalizing import DeliveryContext, build_event, derived_expiry

SAMPLES_POINTER = "/response/generateVideoResponse/generatedSamples"
FILTERED = "rai_media_filtered"
FILTERED_MESSAGE = "the operation is done but returned no video (filtered by the safety checks)"


class RpcStatus(BaseModel):
    code: int | None = None
    message: str | None = None
    details: list[Any] | None = None


class Video(BaseModel):
    uri: str | None = None
    encodedVideo: str | None = None
    encoding: str | None = None


class Sample(BaseModel):
    video: Video | None = None


class VideoResponse(BaseModel):
    generatedSamples: list[Sample] | None = None
    raiMediaFilteredCount: int | None = Field(default=None, ge=0)
    raiMediaFilteredReasons: list[str] | None = None


class Response(BaseModel):
    # Its `@type` (PredictLongRunningResponse) may be absent: nothing depends on it.
    generateVideoResponse: VideoResponse | None = None


class Operation(BaseModel):
    name: str = Field(min_length=1)
    done: bool | None = None
    error: RpcStatus | None = None
    response: Response | None = None
    metadata: dict[str, Any] | None = None


def _assets(samples: list[Sample], expires_at: datetime | None) -> list[Asset]:
    assets = []
    for index, sample in enumerate(samples):
        video = sample.video
        if video is None:
            continue
        if video.uri is not None:
            assets.append(Asset(kind="video", url=video.uri, expires_at=expires_at))
        elif video.encodedVideo is not None:
            pointer = f"inline:{SAMPLES_POINTER}/{index}/video/encodedVideo"
            assets.append(Asset(kind="video", url=pointer, expires_at=None))
    return assets


def normalize(payload: Operation, ctx: DeliveryContext) -> CanonicalEvent:
    status: Status
    error = None
    assets: list[Asset] = []
    extras: dict[str, Any] = {}
    result = payload.response.generateVideoResponse if payload.response is not None else None
    if not payload.done:
        status = "running"
    elif payload.error is not None:
        status = "canceled" if payload.error.code == CANCELLED else "failed"
        message = payload.error.message or "the operation ended with an error and no message"
        error = Error(code=rpc_code_name(payload.error.code), message=message)
    else:
        samples = (result.generatedSamples or []) if result is not None else []
        assets = _assets(samples, derived_expiry(done_at(ctx), RETENTION))
        if assets:
            status = "succeeded"
        else:
            status = "failed"
            reasons = (result.raiMediaFilteredReasons or []) if result is not None else []
            error = Error(code=FILTERED, message="; ".join(reasons) or FILTERED_MESSAGE)
    # The task keeps the id its webhook was acknowledged under (a bare segment became `operations/<id>`),
    # so that the event id the 202 answer gave is the one published; the full name is kept beside it.
    task_id = ctx.notice.task_id if ctx.notice is not None else payload.name
    if task_id != payload.name:
        extras["operation_name"] = payload.name
    if result is not None:
        extras["rai_media_filtered_count"] = result.raiMediaFilteredCount
        extras["rai_media_filtered_reasons"] = result.raiMediaFilteredReasons
    return build_event(
        ctx,
        task_id=task_id,
        task_type="generation",
        status=status,
        model=model_of(payload.name),
        error=error,
        assets=assets,
        occurred_at=ctx.notice.occurred_at if ctx.notice is not None else None,
        extensions={name: value for name, value in extras.items() if value is not None},
    )
