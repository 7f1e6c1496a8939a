"""A fake OpenAI-compatible Videos API on loopback that counts what it is asked.

`python -m bench.fake_api PORT`: prints `ready` once listening. `GET /v1/videos/{id}` answers at once
with the video `in_progress` (the same body for every call, so a watched task never ends); `GET /stats`
answers the number of video requests per wall-clock second, `{"<unix second>": count}`, for the bench to
read the polls of any window. Everything else is 404.

A few lines of asyncio rather than a framework: it must answer far faster than the receiver polls, so
that the figure measured is the receiver's pace and not this server's, and it runs in its own process so
that it never shares an interpreter with the harness. HTTP/1.1 keep-alive, no request bodies (GET only).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter

import orjson

VIDEO_PATH = b"/v1/videos/"
STATS_PATH = b"/stats"
CREATED_AT = 1764849835

counts: Counter[int] = Counter()


def _response(status: bytes, body: bytes) -> bytes:
    head = b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\ncontent-length: "
    return head + str(len(body)).encode() + b"\r\n\r\n" + body


def answer(target: bytes) -> bytes:
    path = target.split(b"?", 1)[0]
    if path.startswith(VIDEO_PATH):
        counts[int(time.time())] += 1
        task_id = path[len(VIDEO_PATH) :].decode("latin-1")
        body = {
            "id": task_id,
            "object": "video",
            "model": "veo3.1",
            "status": "in_progress",
            "progress": 10,
            "created_at": CREATED_AT,
            "seconds": "8",
        }
        return _response(b"200 OK", orjson.dumps(body))
    if path == STATS_PATH:
        return _response(b"200 OK", orjson.dumps({str(second): n for second, n in sorted(counts.items())}))
    return _response(b"404 Not Found", b'{"error":{"message":"not found"}}')


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1]
            writer.write(answer(target))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(serve_connection, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(int(sys.argv[1])))
