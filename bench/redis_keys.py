"""Reading the bench's streams back and deleting every key the bench made.

The check "every delivery answered 2xx is in the stream" counts entries by task-id prefix, so that
warm-up, measured run and latency probes, which share one stream, are told apart exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import cast

import orjson
import redis

CHUNK = 5000

Entry = tuple[bytes, dict[bytes, bytes]]  # a stream entry as redis-py returns it (bytes mode)


def stream_task_ids(client: redis.Redis, key: str) -> Iterator[str]:
    """The `task_id` of each entry's `event` JSON, oldest first, read in chunks."""
    low = "-"
    while True:
        entries = cast(list[Entry], client.xrange(key, min=low, max="+", count=CHUNK))
        if not entries:
            return
        for _entry_id, fields in entries:
            event = fields.get(b"event")
            yield str(orjson.loads(event)["task_id"]) if event is not None else ""
        low = "(" + entries[-1][0].decode()


def count_by_prefix(client: redis.Redis, key: str, prefixes: Iterable[str]) -> dict[str, Counter[str]]:
    """For each task-id prefix, how many entries each of its task ids has."""
    wanted = list(prefixes)
    found: dict[str, Counter[str]] = {prefix: Counter() for prefix in wanted}
    for task_id in stream_task_ids(client, key):
        for prefix in wanted:
            if task_id.startswith(prefix):
                found[prefix][task_id] += 1
                break
    return found


def delete_prefix(client: redis.Redis, prefix: str) -> int:
    """UNLINK `prefix` and every key under `prefix:`; never touches anything else."""
    deleted = int(client.unlink(prefix))
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += int(client.unlink(*batch))
            batch.clear()
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted
