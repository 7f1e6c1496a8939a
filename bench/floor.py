"""The floor for one large delivery: what any receiver must do with it, and nothing more.

Read the body, check its Standard Webhooks HMAC, `orjson.loads` it (the least a receiver can do to know
it is JSON), one `XADD` of the body as it came, answer 202. No schema, no event, no dedupe: a large
body's cost in videohooks is judged against this (`bench/largebody.py`). Configured by environment
variables set by that module.
"""

from __future__ import annotations

import hmac
import os

import orjson
import redis.asyncio as redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.payload import secret_key, sign

KEY = secret_key()
STREAM = os.environ.get("BENCH_STREAM", "bench-floor:events")
client = redis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))


async def callback(request: Request) -> Response:
    body = await request.body()
    headers = request.headers
    expected = sign(KEY, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    if not hmac.compare_digest(expected, headers["webhook-signature"]):
        return Response(status_code=401)
    orjson.loads(body)
    await client.xadd(STREAM, {"body": body})
    return Response(b'{"status":"accepted"}', status_code=202, media_type="application/json")


app = Starlette(routes=[Route("/v1/callbacks/{source_id}", callback, methods=["POST"])])
