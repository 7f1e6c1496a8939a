"""The ceiling: a bare Starlette endpoint that reads the body and answers 202.

No verification, no parsing, no Redis: what one uvicorn worker can answer on this machine at all,
so that the other servers are judged as a fraction of it rather than in absolute, noisy numbers.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def callback(request: Request) -> Response:
    await request.body()
    return Response(b'{"status":"accepted"}', status_code=202, media_type="application/json")


app = Starlette(routes=[Route("/v1/callbacks/{source_id}", callback, methods=["POST"])])
