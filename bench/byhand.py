"""By hand: the receiver a user writes without videohooks, as the baseline videohooks must beat.

FastAPI, a pydantic model of the memories payload, a hand-written Standard Webhooks HMAC check
(hmac.compare_digest) and one awaited XADD per request with redis.asyncio (hiredis installed).
Written the plain, idiomatic way on purpose: it stands for typical user code, not a tuned server.
Configured by environment variables set by bench/servers.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time

import redis.asyncio as redis
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

SECRET = os.environ.get("BENCH_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
STREAM = os.environ.get("BENCH_STREAM", "bench-byhand:events")
KEY = base64.b64decode(SECRET.removeprefix("whsec_"))
TOLERANCE_SECONDS = 300


class Segment(BaseModel):
    start_time: float
    end_time: float
    transcript: str


class UsageMetadata(BaseModel):
    duration: float | None = None
    model: str | None = None
    output_tokens: int | None = None
    prompt_tokens: int | None = None


class ResultData(BaseModel):
    data: list[Segment] | None = None
    error_rate: float | None = None
    usage_metadata: UsageMetadata | None = None


class Result(BaseModel):
    msg: str | None = None
    success: bool
    data: ResultData | None = None


class MemoriesCallback(BaseModel):
    code: int | str
    message: str | None = None
    task_id: str
    data: Result


app = FastAPI()
client = redis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))


def verify(msg_id: str, timestamp: str, signature: str, body: bytes) -> None:
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        raise HTTPException(status_code=401, detail="timestamp out of tolerance")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    for entry in signature.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise HTTPException(status_code=401, detail="invalid signature")


@app.post("/v1/callbacks/{source_id}", status_code=202)
async def callback(source_id: str, request: Request) -> JSONResponse:
    body = await request.body()
    headers = request.headers
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signature = headers.get("webhook-signature")
    if not (msg_id and timestamp and signature):
        raise HTTPException(status_code=401, detail="missing signature")
    verify(msg_id, timestamp, signature, body)
    payload = MemoriesCallback.model_validate_json(body)
    await client.xadd(
        STREAM,
        {"event": payload.model_dump_json(), "task_id": payload.task_id, "source": source_id},
    )
    return JSONResponse({"status": "accepted", "task_id": payload.task_id}, status_code=202)
