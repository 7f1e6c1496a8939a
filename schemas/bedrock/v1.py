"""Bedrock `GetAsyncInvoke` answer, version 1 (bedrock-runtime service model 2023-09-30).

`{invocationArn, modelArn, status, failureMessage?, submitTime, lastModifiedTime?, endTime?,
clientRequestToken?, outputDataConfig: {s3OutputDataConfig: {s3Uri, kmsKeyId?, bucketOwner?}}}`.
`status` is `InProgress`, `Completed` or `Failed` (a closed enum in the service model; anything else is
quarantined). The video is written to S3, in the invocation's folder named by `s3Uri`, as
`output.mp4` (Nova Reel's documented name, which Luma Ray's output uses too as far as is known): the
asset is that `s3://` URL, with no expiry (the caller's bucket). `failureMessage` is the caller's own
error, published as `error.message` (the service model marks it sensitive: it is never logged).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from schemas.event import Asset, CanonicalEvent, Error, Status, Usage
from schemas.normalizing import DeliveryContext, build_event, map_status, seconds_to_ms

PROVIDER_ID = "bedrock"
OUTPUT_NAME = "output.mp4"
MODEL_RESOURCES = ("foundation-model/", "provisioned-model/")
FAILED_MESSAGE = "Bedrock reported the invocation failed without saying why"

STATUSES: dict[str, Status] = {
    "InProgress": "running",
    "Completed": "succeeded",
    "Failed": "failed",
}


class S3OutputDataConfig(BaseModel):
    s3Uri: str = Field(pattern=r"^s3://[^/]+")
    kmsKeyId: str | None = None
    bucketOwner: str | None = None


class OutputDataConfig(BaseModel):
    # A union in the service model; S3 is its only member today.
    s3OutputDataConfig: S3OutputDataConfig | None = None


class AsyncInvoke(BaseModel):
    invocationArn: str = Field(min_length=1, max_length=256)
    modelArn: str | None = None
    status: str
    failureMessage: str | None = None
    submitTime: datetime | None = None
    lastModifiedTime: datetime | None = None
    endTime: datetime | None = None
    clientRequestToken: str | None = None
    outputDataConfig: OutputDataConfig | None = None


def model_of(model_arn: str | None) -> str | None:
    """`amazon.nova-reel-v1:1` from `arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1`
    (or a `provisioned-model/` ARN's id); a bare model id as it is."""
    if not model_arn:
        return None
    if not model_arn.startswith("arn:"):
        return model_arn
    resource = model_arn.split(":", 5)[-1]
    for kind in MODEL_RESOURCES:
        if resource.startswith(kind):
            return resource.removeprefix(kind) or None
    return None


def output_uri(payload: AsyncInvoke) -> str | None:
    config = payload.outputDataConfig.s3OutputDataConfig if payload.outputDataConfig else None
    return config.s3Uri if config is not None else None


def normalize(payload: AsyncInvoke, ctx: DeliveryContext) -> CanonicalEvent:
    status = map_status(PROVIDER_ID, payload.status, STATUSES)
    folder = output_uri(payload)
    error = None
    if status == "failed":
        error = Error(code=None, message=payload.failureMessage or FAILED_MESSAGE)
    assets: tuple[Asset, ...] = ()
    if status == "succeeded" and folder is not None:
        assets = (Asset(kind="video", url=f"{folder.rstrip('/')}/{OUTPUT_NAME}", expires_at=None),)
    processing_ms = None
    if payload.endTime is not None and payload.submitTime is not None:
        processing_ms = seconds_to_ms((payload.endTime - payload.submitTime).total_seconds())
    extras: dict[str, Any] = {"output_uri": folder, "client_request_token": payload.clientRequestToken}
    return build_event(
        ctx,
        task_id=payload.invocationArn,
        task_type="generation",
        status=status,
        model=model_of(payload.modelArn),
        error=error,
        usage=Usage(processing_ms=processing_ms),
        assets=assets,
        occurred_at=payload.endTime or payload.lastModifiedTime or payload.submitTime,
        extensions={name: value for name, value in extras.items() if value is not None},
    )
