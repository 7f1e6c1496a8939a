"""Graceful shutdown of a real `videohooks serve` process on a real SIGTERM, with requests in flight."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import orjson
import redis

from tests.support import TOKEN, LiveReceiver, stream_entries
from tests.support.deliveries import memories_body
from tests.support.waiting import wait_for

IN_FLIGHT = 5


async def read_by_server(port: int, connections: int) -> bool:
    """Whether `connections` are established to `port` (IPv4) and the server has read every byte sent
    on them: their receive queues in /proc/net/tcp are empty."""
    unread = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        _, local, _, state, queues, *_ = line.split()
        if int(local.rsplit(":", 1)[1], 16) == port and state == "01":  # 01: ESTABLISHED
            unread.append(int(queues.split(":")[1], 16))
    return unread == [0] * connections


async def test_sigterm_turns_readyz_503_finishes_in_flight_deliveries_and_exits_0(
    config_file: Path, rclient: redis.Redis, prefix: str
) -> None:
    with config_file.open("a", encoding="utf-8") as extra:
        extra.write("\n[server]\nshutdown_delay_seconds = 1.5\n")
    receiver = LiveReceiver(config_file)
    receiver.start()
    assert receiver.process is not None
    try:
        # Slow clients: each has sent its headers and half its body when the signal arrives.
        connections = [await asyncio.open_connection("127.0.0.1", receiver.port) for _ in range(IN_FLIGHT)]
        for number, (_, writer) in enumerate(connections):
            payload = memories_body(f"inflight-{number}")
            writer.write(
                f"POST /v1/callbacks/memories-main/{TOKEN} HTTP/1.1\r\nhost: receiver\r\n"
                f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n".encode()
                + payload[: len(payload) // 2]
            )
            await writer.drain()
        await wait_for(lambda: read_by_server(receiver.port, IN_FLIGHT))

        receiver.process.send_signal(signal.SIGTERM)
        async with httpx.AsyncClient(base_url=receiver.url, timeout=2) as http:
            ready = await http.get("/readyz")
        assert (ready.status_code, ready.json()["status"]) == (503, "shutting_down")
        assert receiver.process.poll() is None

        for number, (_, writer) in enumerate(connections):
            payload = memories_body(f"inflight-{number}")
            writer.write(payload[len(payload) // 2 :])
            await writer.drain()
        answers = [await reader.read() for reader, _ in connections]
        for writer in (writer for _, writer in connections):
            writer.close()
        for answer in answers:
            head, _, content = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 202"), answer
            assert orjson.loads(content)["status"] == "accepted"

        assert await asyncio.to_thread(receiver.process.wait, 20) == 0
        receiver.process = None
    finally:
        if receiver.process is not None:
            receiver.stop(signal.SIGKILL)
    published = sorted(entry["task_id"].decode() for entry in stream_entries(rclient, f"{prefix}:events"))
    assert published == sorted(f"inflight-{number}" for number in range(IN_FLIGHT))
    assert "draining" in receiver.log()
