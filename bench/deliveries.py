"""Pre-signed, unique deliveries for one wrk run, written where the Lua script reads them.

Signing happens here, before the run, so that the load generator spends no time on HMAC and the
timestamps are fresh (the receiver refuses anything older than 300 s): call this right before
each run, never once for the whole bench.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench.payload import body_template, secret_key, sign


def signed_delivery(task_id: str, timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
    """Headers and body of one delivery, for senders that post one at a time (httpx)."""
    prefix, suffix = body_template()
    ts = int(time.time()) if timestamp is None else timestamp
    msg_id = f"msg_{task_id}"
    body = prefix + task_id.encode() + suffix
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret_key(), msg_id, ts, body),
    }
    return headers, body


@dataclass(frozen=True)
class DeliverySet:
    """Files the Lua script takes as arguments, and the task-id prefix that finds them in Redis."""

    records: Path
    body_prefix: Path
    body_suffix: Path
    count: int
    task_prefix: str

    def lua_args(self) -> list[str]:
        return [str(self.records), str(self.body_prefix), str(self.body_suffix)]


def write_deliveries(directory: Path, name: str, task_prefix: str, count: int) -> DeliverySet:
    """Write `count` deliveries as lines `webhook-id task-id timestamp signature`.

    Every delivery has its own task id and webhook id, both derived from `task_prefix`, so that
    the stream check can tell this run's entries from any other's.
    """
    directory.mkdir(parents=True, exist_ok=True)
    prefix, suffix = body_template()
    key = secret_key()
    timestamp = int(time.time())
    records = directory / f"{name}.records"
    lines: list[str] = []
    for i in range(count):
        task_id = f"{task_prefix}{i:07d}"
        msg_id = f"msg_{task_id}"
        body = prefix + task_id.encode() + suffix
        lines.append(f"{msg_id} {task_id} {timestamp} {sign(key, msg_id, timestamp, body)}\n")
    records.write_text("".join(lines))
    body_prefix = directory / f"{name}.prefix"
    body_suffix = directory / f"{name}.suffix"
    body_prefix.write_bytes(prefix)
    body_suffix.write_bytes(suffix)
    return DeliverySet(records, body_prefix, body_suffix, count, task_prefix)
