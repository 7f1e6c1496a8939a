"""The JSON shapes every route answers with, and the bounded body read every route uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Send

from receiver.foundation.errors import ErrorAnswer


def json_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


async def send_json(send: Send, status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    """What `json_response(...)` would send, sent without building a Response, for the callback route."""
    await send_raw_json(send, status, orjson.dumps(body), headers)


async def send_raw_json(send: Send, status: int, content: bytes, headers: Mapping[str, str] = {}) -> None:
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        *((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": content})


def error_body(error: ErrorAnswer) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message}}


async def read_body(request: Request, limit: int) -> bytes:
    return await read_limited(request.receive, request.headers, limit)


async def read_limited(receive: Receive, headers: Headers, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit`, never held whole beyond it."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ErrorAnswer(413, "payload_too_large", f"the body exceeds {limit} bytes")
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ErrorAnswer(413, "payload_too_large", f"the body exceeds {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
