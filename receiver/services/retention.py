"""Stream retention without loss: archive, then trim, in the background; measure lengths, lag and pending.

Trimming runs here, periodically, in every receiver process (a trim is idempotent), never in the
publish script: an entry must be archived before it goes, and the hot path must not pay for that.
Between two passes (`check_interval_seconds`) a stream may grow past `maxlen` by what arrives.

A pass removes the oldest entries beyond `maxlen` and those older than `min_age_seconds`, in batches:
- with `[redis.retention] archive`, each batch is first written to the archive (receiver/services/archive.py),
  and trimmed (`XTRIM MINID`, exact) only once written: stream and archive together hold every event;
- without it, an entry some consumer group has not been delivered yet (past the lowest
  `last-delivered-id` of the stream's groups, which Redis 6.2 reports too) is kept, past the limits,
  unless `trim_undelivered = true`. What is kept back shows in `videohooks_retention_held_back` and
  the age of the oldest undelivered entry in `videohooks_retention_oldest_undelivered_seconds`.

Dead-letter streams are measured but never trimmed: a quarantined delivery was acknowledged and stays
until an operator redrives or deletes it. A group is flagged at risk (`videohooks_retention_at_risk`
= 1, and a warning log line) when, without an archive, it is behind the limits: its entries are held
back (or, with `trim_undelivered`, about to be lost).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from receiver.config import RetentionConfig
from receiver.foundation import metrics
from receiver.foundation.errors import REDIS_REFUSALS, ArchiveUnavailable
from receiver.foundation.keys import AnyRedis, KeySpace, as_text, entry_id_order
from receiver.foundation.logs import logger
from receiver.services.archive import Archive

# With `maxlen` N, a group whose unread backlog passes this share of N is about to be trimmed past.
MAXLEN_HEADROOM = 0.9
# Entries read, archived and trimmed per step: one archive object each.
TRIM_BATCH = 1000
# Redis 6.2 reports no lag: the entries after a group's position are counted, up to this many.
LAG_COUNT_LIMIT = 100_000
# Counted inside Redis, one page a call: nothing of the entries crosses the network, and no single call
# holds Redis (which runs a script to completion, every publish waiting) for more than a page of entries.
_LAG_PAGE = 1000
_COUNT_PAGE = """
local page = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
if #page == 0 then return {0, ''} end
return {#page, page[#page][1]}
"""


@dataclass(frozen=True, slots=True)
class GroupReport:
    stream: str
    group: str
    lag: int | None  # None: Redis cannot tell, which happens once entries past the group were trimmed
    pending: int
    at_risk: bool
    last_delivered_id: str = "0-0"


@dataclass(frozen=True, slots=True)
class StreamReport:
    stream: str
    length: int
    trimmed: int
    groups: tuple[GroupReport, ...]
    archived: int = 0
    held_back: int = 0  # entries past the limits kept because a group has not been delivered them
    oldest_undelivered_seconds: float = 0.0  # of the oldest entry some group has not been delivered


def _info(raw: Mapping[Any, Any]) -> dict[str, Any]:
    return {as_text(name): value for name, value in raw.items()}


def _after(entry_id: str) -> str:
    """The smallest id above `entry_id`: `XTRIM MINID` of it removes `entry_id` and all before."""
    millis, sequence = entry_id_order(entry_id)
    return f"{millis}-{sequence + 1}"


async def _unread_before(redis: AnyRedis, stream: str, last_delivered: str, min_id: str) -> bool:
    """Whether the stream holds an entry after the group's position and before the trim point."""
    if entry_id_order(last_delivered) >= entry_id_order(min_id):
        return False
    entries = await redis.xrange(stream, min=f"({last_delivered}", max=f"({min_id}", count=1)
    return bool(entries)


async def group_lag(redis: AnyRedis, stream: str, info: Mapping[str, Any], last_delivered: str) -> int | None:
    """The entries the group has not read yet. Redis 7 reports it (`lag`; none once entries past the
    group were trimmed); before 7 (the embedded Redis is 6.2) they are counted, up to LAG_COUNT_LIMIT,
    beyond which the lag is unknown (None)."""
    if "entries-read" in info:
        return None if info.get("lag") is None else int(info["lag"])
    counted, start = 0, f"({last_delivered}"
    while counted <= LAG_COUNT_LIMIT:
        found, last = await redis.eval(_COUNT_PAGE, 1, stream, start, _LAG_PAGE)
        if not found:
            break
        counted, start = counted + int(found), f"({as_text(last)}"
    return counted if counted <= LAG_COUNT_LIMIT else None


async def _groups(
    redis: AnyRedis, stream: str, retention: RetentionConfig, min_id: str | None, trim: bool
) -> list[GroupReport]:
    try:
        raw_groups = await redis.xinfo_groups(stream)
    except REDIS_REFUSALS:  # no such stream yet: nothing to trim or measure
        raw_groups = []
    groups = []
    for raw in raw_groups:
        info = _info(raw)
        last_delivered = as_text(info["last-delivered-id"])
        lag = await group_lag(redis, stream, info, last_delivered)
        at_risk = (
            trim
            and retention.archive is None
            and (
                (min_id is not None and await _unread_before(redis, stream, last_delivered, min_id))
                or (retention.maxlen > 0 and (lag is None or lag > retention.maxlen * MAXLEN_HEADROOM))
            )
        )
        groups.append(
            GroupReport(stream, as_text(info["name"]), lag, int(info["pending"]), at_risk, last_delivered)
        )
        if at_risk:
            logger.warning(
                "retention_at_risk",
                stream=stream,
                group=groups[-1].group,
                lag=lag,
                last_delivered_id=last_delivered,
                min_id=min_id,
                maxlen=retention.maxlen,
                held_back=not retention.trim_undelivered,
            )
    return groups


async def check_stream(
    redis: AnyRedis,
    stream: str,
    retention: RetentionConfig,
    now: float,
    trim: bool,
    archive: Archive | None = None,
) -> StreamReport:
    """Trim one stream (when `trim`): archive first where there is an archive, else keep what a group
    has not been delivered unless told otherwise; then measure it and its groups."""
    min_id = f"{int((now - retention.min_age_seconds) * 1000)}-0" if retention.min_age_seconds else None
    groups = await _groups(redis, stream, retention, min_id, trim)
    # Entries up to this id were delivered to every group; None: no group to keep anything for.
    floor = min((group.last_delivered_id for group in groups), key=entry_id_order, default=None)
    keep_undelivered = archive is None and not retention.trim_undelivered
    trimmed = archived = 0
    held_back = 0
    if trim and (min_id is not None or retention.maxlen):
        excess = max(0, int(await redis.xlen(stream)) - retention.maxlen) if retention.maxlen else 0
        while True:
            batch: list[Any] = await redis.xrange(stream, count=TRIM_BATCH) or []
            due = [
                entry
                for index, entry in enumerate(batch)
                if trimmed + index < excess
                or (min_id is not None and entry_id_order(as_text(entry[0])) < entry_id_order(min_id))
            ]
            allowed = due
            if keep_undelivered and floor is not None:
                allowed = [
                    entry for entry in due if entry_id_order(as_text(entry[0])) <= entry_id_order(floor)
                ]
            if len(allowed) < len(due) and floor is not None:
                held_back = await _held_back(redis, stream, excess - trimmed - len(allowed), min_id, floor)
            if not allowed:
                break
            if archive is not None:
                try:
                    await archive.write(stream, allowed)
                except ArchiveUnavailable as exc:
                    logger.warning("archive_failed", stream=stream, error=str(exc))
                    break
                archived += len(allowed)
            await redis.xtrim(stream, minid=_after(as_text(allowed[-1][0])), approximate=False)
            trimmed += len(allowed)
            if len(allowed) < len(batch):
                break
    oldest = await _oldest_undelivered_seconds(redis, stream, floor, now) if floor is not None else 0.0
    length = int(await redis.xlen(stream))
    return StreamReport(stream, length, trimmed, tuple(groups), archived, held_back, oldest)


async def _held_back(redis: AnyRedis, stream: str, by_length: int, min_id: str | None, floor: str) -> int:
    """Entries the limits would remove that are kept for a group: those beyond `maxlen`, or those older
    than `min_id` and undelivered (counted up to one batch: a count, not a scan of the stream)."""
    by_age = 0
    if min_id is not None:
        by_age = len(await redis.xrange(stream, min=f"({floor}", max=f"({min_id}", count=TRIM_BATCH) or [])
    return max(by_length, by_age)


async def _oldest_undelivered_seconds(redis: AnyRedis, stream: str, floor: str, now: float) -> float:
    first = await redis.xrange(stream, min=f"({floor}", count=1)
    if not first:
        return 0.0
    return max(0.0, now - entry_id_order(as_text(first[0][0]))[0] / 1000)


def record(report: StreamReport) -> None:
    metrics.child(metrics.STREAM_LENGTH, report.stream).set(report.length)
    metrics.child(metrics.RETENTION_HELD_BACK, report.stream).set(report.held_back)
    metrics.child(metrics.OLDEST_UNDELIVERED, report.stream).set(report.oldest_undelivered_seconds)
    if report.archived:
        metrics.child(metrics.ARCHIVED_ENTRIES, report.stream).inc(report.archived)
    for group in report.groups:
        metrics.child(metrics.GROUP_PENDING, group.stream, group.group).set(group.pending)
        metrics.child(metrics.TRIM_AT_RISK, group.stream, group.group).set(int(group.at_risk))
        if group.lag is not None:
            metrics.child(metrics.GROUP_LAG, group.stream, group.group).set(group.lag)


async def check_all(
    redis: AnyRedis, keys: KeySpace, retention: RetentionConfig, archive: Archive | None = None
) -> list[StreamReport]:
    """One pass over every events stream (trimmed) and dead-letter stream (measured only)."""
    now = time.time()
    reports = [
        await check_stream(redis, stream, retention, now, trim=True, archive=archive)
        for stream in keys.all_events()
    ]
    reports += [await check_stream(redis, stream, retention, now, trim=False) for stream in keys.all_dlq()]
    for report in reports:
        record(report)
    return reports
