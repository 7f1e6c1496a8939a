"""Nothing twice: the same delivery racing itself, on one receiver process and across two."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import orjson
import redis

from tests.support import live_receiver, stream_entries
from tests.support.deliveries import memories_body, signed_headers


async def test_same_delivery_sent_100_times_concurrently_publishes_once(
    config_file: Path, rclient: redis.Redis, prefix: str
) -> None:
    body = memories_body("race-task")
    with live_receiver(config_file) as receiver:
        async with httpx.AsyncClient(base_url=receiver.url, timeout=10) as http:
            answers = await asyncio.gather(
                *(
                    http.post(
                        "/v1/callbacks/memories-signed",
                        content=body,
                        headers=signed_headers(body, "msg_race"),
                    )
                    for _ in range(100)
                )
            )
    assert {answer.status_code for answer in answers} == {202}
    statuses = [answer.json()["status"] for answer in answers]
    assert statuses.count("accepted") == 1
    assert statuses.count("duplicate") == 99
    [entry] = stream_entries(rclient, f"{prefix}:events")
    assert orjson.loads(entry["event"])["delivery_id"] == "msg_race"


async def test_two_receivers_sharing_redis_publish_each_delivery_once(
    config_file: Path, rclient: redis.Redis, prefix: str
) -> None:
    tasks = [f"task-{number}" for number in range(30)]
    with live_receiver(config_file) as first, live_receiver(config_file) as second:
        async with httpx.AsyncClient(timeout=10) as http:
            # Every delivery goes twice to each receiver at once, as a provider's retries racing
            # over a load balancer would.
            answers = await asyncio.gather(
                *(
                    http.post(
                        f"{url}/v1/callbacks/memories-signed",
                        content=memories_body(task),
                        headers=signed_headers(memories_body(task), f"msg-{task}"),
                    )
                    for task in tasks
                    for url in (first.url, second.url, first.url, second.url)
                )
            )
    statuses = [answer.json()["status"] for answer in answers]
    assert statuses.count("accepted") == len(tasks)
    assert statuses.count("duplicate") == 3 * len(tasks)
    published = [entry["task_id"].decode() for entry in stream_entries(rclient, f"{prefix}:events")]
    assert sorted(published) == sorted(tasks)
