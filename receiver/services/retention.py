"""Stream retention and visibility: trim by age, and measure length, consumer-group lag and pending.

`MAXLEN ~` is applied by the publish script on every append (it needs no computed id); trimming by
age needs `MINID`, an id computed from the clock, so it runs here, periodically (exactly: a pass only
removes what aged out since the last one, so exact trimming costs little), in every receiver
process (trimming is idempotent, so several processes doing it is harmless). Dead-letter streams are
measured but never trimmed: a quarantined delivery was acknowledged and stays until an operator
redrives or deletes it.

Trimming is the operator's policy and runs even when a consumer group is behind, but that group is
then flagged (`videohooks_retention_at_risk{stream,group}` = 1, and a warning log line) so that a
stalled consumer is noticed before its unread entries are gone.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from receiver.config import RetentionConfig
from receiver.foundation import metrics
from receiver.foundation.keys import AnyRedis, KeySpace, as_text, entry_id_order
from receiver.foundation.logs import logger

# With `MAXLEN ~ N`, a group whose unread backlog passes this share of N is about to lose entries.
MAXLEN_HEADROOM = 0.9


@dataclass(frozen=True, slots=True)
class GroupReport:
    stream: str
    group: str
    lag: int | None  # None: Redis cannot tell, which happens once entries past the group were trimmed
    pending: int
    at_risk: bool


@dataclass(frozen=True, slots=True)
class StreamReport:
    stream: str
    length: int
    trimmed: int
    groups: tuple[GroupReport, ...]


def _info(raw: Mapping[Any, Any]) -> dict[str, Any]:
    return {as_text(name): value for name, value in raw.items()}


async def _unread_before(redis: AnyRedis, stream: str, last_delivered: str, min_id: str) -> bool:
    """Whether the stream holds an entry after the group's position and before the trim point."""
    if entry_id_order(last_delivered) >= entry_id_order(min_id):
        return False
    entries = await redis.xrange(stream, min=f"({last_delivered}", max=f"({min_id}", count=1)
    return bool(entries)


async def check_stream(
    redis: AnyRedis, stream: str, retention: RetentionConfig, now: float, trim: bool
) -> StreamReport:
    """Trim one stream by age (when `trim` and configured), then measure it and its groups."""
    min_id = f"{int((now - retention.min_age_seconds) * 1000)}-0" if retention.min_age_seconds else None
    try:
        raw_groups = await redis.xinfo_groups(stream)
    except ResponseError:  # no such stream yet: nothing to trim or measure
        raw_groups = []
    groups = []
    for raw in raw_groups:
        info = _info(raw)
        lag = None if info.get("lag") is None else int(info["lag"])
        last_delivered = as_text(info["last-delivered-id"])
        at_risk = (
            min_id is not None and trim and await _unread_before(redis, stream, last_delivered, min_id)
        ) or (retention.maxlen > 0 and (lag is None or lag > retention.maxlen * MAXLEN_HEADROOM))
        group = GroupReport(stream, as_text(info["name"]), lag, int(info["pending"]), at_risk)
        groups.append(group)
        if at_risk:
            logger.warning(
                "retention_at_risk",
                stream=stream,
                group=group.group,
                lag=lag,
                last_delivered_id=last_delivered,
                min_id=min_id,
                maxlen=retention.maxlen,
            )
    trimmed = 0
    if trim and min_id is not None:
        trimmed = int(await redis.xtrim(stream, minid=min_id, approximate=False))
    return StreamReport(stream, int(await redis.xlen(stream)), trimmed, tuple(groups))


def record(report: StreamReport) -> None:
    metrics.child(metrics.STREAM_LENGTH, report.stream).set(report.length)
    for group in report.groups:
        metrics.child(metrics.GROUP_PENDING, group.stream, group.group).set(group.pending)
        metrics.child(metrics.TRIM_AT_RISK, group.stream, group.group).set(int(group.at_risk))
        if group.lag is not None:
            metrics.child(metrics.GROUP_LAG, group.stream, group.group).set(group.lag)


async def check_all(redis: AnyRedis, keys: KeySpace, retention: RetentionConfig) -> list[StreamReport]:
    """One pass over every events stream (trimmed) and dead-letter stream (measured only)."""
    now = time.time()
    reports = [await check_stream(redis, stream, retention, now, trim=True) for stream in keys.all_events()]
    reports += [await check_stream(redis, stream, retention, now, trim=False) for stream in keys.all_dlq()]
    for report in reports:
        record(report)
    return reports
