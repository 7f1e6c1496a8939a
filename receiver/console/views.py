"""What the console's pages show, read from Redis (and, for refusals, this process's counters).

Every read is bounded: the overview and the usage chart look at the newest entries of each stream
only, as `GET /v1/events` does. Figures are labelled with where they come from, because they differ:
what Redis holds (events, dead letters, watches) is the whole deployment's; refused deliveries (401,
413, 429) leave nothing in Redis, so their counts are this process's since it started.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import orjson
from prometheus_client import Gauge

from receiver.assets.copier import COPY
from receiver.config import Config
from receiver.core.jobs import Job, JobQueue
from receiver.flow.fetch import FETCH
from receiver.flow.poll import POLL, watch_phase
from receiver.foundation import metrics
from receiver.foundation.keys import AnyRedis, KeySpace, entry_id_order
from receiver.services.dlq import DeadLetter, DeadLetters
from receiver.services.events_view import EventQuery, StoredEvent, latest_events, newest_entries, stored_event
from receiver.services.taskrecord import HeldEvent, WatchState, held_event, read_entries, read_held, read_task
from receiver.sources import SourceConfig
from schemas.event import event_to_json

HOUR_MS = 3600 * 1000
# Newest entries looked at per partition by the overview, the usage chart and the dead-letter pages.
OVERVIEW_SCAN = 10_000
USAGE_SCAN = 2_000
DLQ_SCAN = 500
# What a dead letter's listing shows of its body; its own page shows this much more.
PREVIEW_CHARS = 240
BODY_CHARS = 64 * 1024

# The console's counters start with the process; the overview says since when.
PROCESS_STARTED = time.time()


@dataclass
class SourceSummary:
    id: str
    provider: str
    last_event_ms: int | None = None
    published_last_hour: Counter[str] = field(default_factory=Counter)
    quarantined_last_hour: int = 0
    dlq_pending: int = 0
    watched: int = 0
    overdue: int = 0
    # Accepted events waiting for an asset copy or a fetch, not published yet.
    held: int = 0
    # This process's callback answers since it started, by outcome.
    answers: Counter[str] = field(default_factory=Counter)

    @property
    def unauthentic_rate(self) -> float | None:
        total = sum(self.answers.values())
        return self.answers["unauthentic"] / total if total else None


@dataclass(frozen=True, slots=True)
class StreamRetention:
    """What this process's last retention pass saw of an events stream (services/retention.py)."""

    stream: str
    held_back: int
    oldest_undelivered_seconds: float


@dataclass(frozen=True, slots=True)
class HeldTask:
    source: str
    task_id: str
    held: HeldEvent


@dataclass(frozen=True, slots=True)
class Overview:
    sources: list[SourceSummary]
    scanned_events: int
    scan_complete: bool
    dlq_total: int
    process_started: float
    # The oldest held events (up to HELD_SHOWN), each linking to its task.
    held: list[HeldTask]
    retention: list[StreamRetention] = field(default_factory=list)


def _by_stream(gauge: Gauge) -> dict[str, float]:
    return {sample.labels["stream"]: sample.value for family in gauge.collect() for sample in family.samples}


def _retention_gauges(streams: list[str]) -> list[StreamRetention]:
    """The held-back and oldest-undelivered gauges of this process's last retention pass."""
    held, oldest = _by_stream(metrics.RETENTION_HELD_BACK), _by_stream(metrics.OLDEST_UNDELIVERED)
    return [StreamRetention(stream, int(held.get(stream, 0)), oldest.get(stream, 0.0)) for stream in streams]


def _process_answers() -> dict[str, Counter[str]]:
    """`videohooks_deliveries_total` of this process, by source and outcome."""
    answers: dict[str, Counter[str]] = defaultdict(Counter)
    for family in metrics.DELIVERIES.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                answers[sample.labels["source"]][sample.labels["outcome"]] += int(sample.value)
    return answers


def is_overdue(job: Job, config: Config, now: float) -> bool:
    """A watched task still polled after its source's deadline: the poller is behind or stuck."""
    return watch_phase(job, config, now) == "overdue"


async def overview(redis: AnyRedis, keys: KeySpace, config: Config, now: float) -> Overview:
    since_ms = int(now * 1000) - HOUR_MS
    summaries = {source.id: SourceSummary(source.id, source.provider) for source in config.sources}
    scanned = 0
    complete = True
    for stream in keys.all_events():
        seen = 0
        async for entry in newest_entries(redis, stream, OVERVIEW_SCAN):
            seen += 1
            summary = summaries.get(entry.source)
            if summary is None:
                continue
            if summary.last_event_ms is None:
                summary.last_event_ms = entry.published_ms
            if entry.published_ms >= since_ms:
                summary.published_last_hour[entry.status] += 1
        scanned += seen
        complete = complete and seen < OVERVIEW_SCAN
    for letter in await DeadLetters(redis, keys).scan(limit=DLQ_SCAN):
        summary = summaries.get(letter.source)
        if summary is None:
            continue
        if letter.redriven is None:
            summary.dlq_pending += 1
        if entry_id_order(letter.stream_id)[0] >= since_ms:
            summary.quarantined_last_hour += 1
    async for job in JobQueue(redis, config.redis.prefix).scan(POLL):
        summary = summaries.get(str(job.payload.get("source")))
        if summary is not None:
            summary.watched += 1
            summary.overdue += is_overdue(job, config, now)
    held: list[HeldTask] = []
    for kind in (COPY, FETCH):
        async for job in JobQueue(redis, config.redis.prefix).scan(kind):
            found = held_event(job, partial(fetch_deadline, config))
            if found is None:
                continue
            event, item = found
            summary = summaries.get(event.source)
            if summary is not None:
                summary.held += 1
            held.append(HeldTask(event.source, event.task_id, item))
    for source_id, answers in _process_answers().items():
        if source_id in summaries:
            summaries[source_id].answers = answers
    dlq_total = 0
    for stream in keys.all_dlq():
        dlq_total += int(await redis.xlen(stream))
    held.sort(key=lambda found: found.held.since)
    return Overview(
        list(summaries.values()),
        scanned,
        complete,
        dlq_total,
        PROCESS_STARTED,
        held[:HELD_SHOWN],
        _retention_gauges(keys.all_events()),
    )


@dataclass(frozen=True, slots=True)
class TimelineStep:
    status: str
    entry_id: str
    published_ms: int
    event: dict[str, Any] | None  # None: trimmed from the stream since
    # From the task's record: why it was published, and whether a complete event superseded it.
    decision: str | None = None
    superseded_by: str | None = None

    @property
    def pretty(self) -> str:
        return orjson.dumps(self.event, option=orjson.OPT_INDENT_2).decode()


# A source no longer configured: its held fetches are bounded by the default deadline.
DEFAULT_FETCH_DEADLINE: float = SourceConfig.model_fields["fetch_deadline_seconds"].default


def fetch_deadline(config: Config, source: str) -> float:
    configured = config.source(source)
    return configured.fetch_deadline_seconds if configured else DEFAULT_FETCH_DEADLINE


HELD_SHOWN = 50


@dataclass(frozen=True, slots=True)
class AssetRow:
    """One asset as the task page shows it. `stored_at` only for a copy in the asset store: an asset
    whose copy is given up (or still waited for) is at the provider's URL alone, with its `error`."""

    kind: str
    stored_at: str | None
    provider_url: str | None
    content_type: str | None
    bytes: int | None
    sha256: str | None
    expires_at: str | None
    error: str | None


def asset_rows(assets: Sequence[Mapping[str, Any]], errors: Iterable[Mapping[str, Any]]) -> list[AssetRow]:
    """The rows of an event's assets (as JSON) with the copy failures (`asset_errors` entries: index,
    code, message) of each."""
    failures = {int(error["index"]): f"{error['code']}: {error['message']}" for error in errors}
    rows = []
    for index, asset in enumerate(assets):
        copied = asset.get("sha256") is not None
        rows.append(
            AssetRow(
                kind=str(asset.get("kind")),
                stored_at=asset.get("url") if copied else None,
                provider_url=asset.get("source_url") if copied else asset.get("url"),
                content_type=asset.get("content_type"),
                bytes=asset.get("bytes"),
                sha256=asset.get("sha256"),
                expires_at=asset.get("expires_at"),
                error=failures.get(index),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class Timeline:
    source: str
    task_id: str
    steps: list[TimelineStep]
    watch: WatchState | None
    # Accepted events not published yet (waiting for an asset copy or a fetch), oldest first.
    held: list[HeldEvent]
    # The assets of the newest event that has any: a held one (with its copy's failures so far) before
    # the published ones.
    assets: list[AssetRow]
    from_task_record: bool  # False: the task's record had expired and the stream was searched

    @property
    def known(self) -> bool:
        return bool(self.steps or self.held) or self.watch is not None


async def task_timeline(
    redis: AnyRedis, keys: KeySpace, config: Config, source: str, task_id: str
) -> Timeline:
    """The task's record (receiver/services/taskrecord.py: every status published, its watch, its held
    events), each status with its raw event from the stream."""
    deadline = fetch_deadline(config, source)
    queue = JobQueue(redis, config.redis.prefix)
    held = await read_held(queue, source, task_id, deadline)
    record = await read_task(redis, keys, queue, source, task_id, fetch_deadline_seconds=deadline, held=held)
    statuses = [] if record is None else record.statuses
    stream = keys.events(keys.partition(source, task_id))
    found = await read_entries(redis, stream, (item.entry_id for item in statuses))
    entries: list[tuple[str, str, StoredEvent | None]] = [
        (
            item.status,
            item.entry_id,
            stored_event(item.entry_id, found[item.entry_id]) if item.entry_id in found else None,
        )
        for item in statuses
    ]
    recorded = {item.entry_id: item for item in statuses}
    from_record = bool(entries)
    if not from_record:
        # The record expires with the dedupe window; the stream may still hold the task's events.
        query = EventQuery(source=source, task_id=task_id, limit=50)
        entries = [(entry.status, entry.entry_id, entry) for entry in await latest_events(redis, keys, query)]
    entries.sort(key=lambda item: entry_id_order(item[1]))
    steps = [
        TimelineStep(
            status,
            entry_id,
            entry_id_order(entry_id)[0],
            None if entry is None else entry.event(),
            None if (item := recorded.get(entry_id)) is None else item.decision,
            None if item is None else item.superseded_by,
        )
        for status, entry_id, entry in entries
    ]
    watch = None if record is None else record.watch
    with_assets = [
        (list(step.event["assets"]), step.event.get("extensions", {}).get("asset_errors", []))
        for step in steps
        if step.event and step.event.get("assets")
    ] + [
        (orjson.loads(event_to_json(event))["assets"], [asdict(failure) for failure in item.asset_errors])
        for event, item in held
        if event.assets
    ]
    assets = asset_rows(*with_assets[-1]) if with_assets else []
    return Timeline(source, task_id, steps, watch, [item for _, item in held], assets, from_record)


@dataclass(frozen=True, slots=True)
class LetterView:
    """A dead letter as a page shows it: its body as text (undecodable bytes as U+FFFD), cut short."""

    letter: DeadLetter
    preview: str
    body: str
    body_cut: bool
    binary: bool

    @classmethod
    def of(cls, letter: DeadLetter) -> LetterView:
        try:
            text = letter.body.decode("utf-8")
            binary = False
        except UnicodeDecodeError:
            text = letter.body.decode("utf-8", errors="replace")
            binary = True
        preview = text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else "")
        return cls(letter, preview, text[:BODY_CHARS], len(text) > BODY_CHARS, binary)


async def dead_letters(
    redis: AnyRedis, keys: KeySpace, source: str | None, reason: str | None
) -> list[LetterView]:
    """The oldest dead letters (of a source, of a reason), up to DLQ_SCAN."""
    letters = await DeadLetters(redis, keys).oldest(DLQ_SCAN, source)
    return [LetterView.of(letter) for letter in letters if reason is None or letter.reason == reason]


async def pending_ids_of_reason(redis: AnyRedis, keys: KeySpace, reason: str) -> list[str]:
    """The dead letters of `reason` not redriven yet: what "redrive all of a reason" takes."""
    return [
        letter.entry_id
        for letter in await DeadLetters(redis, keys).scan()
        if letter.reason == reason and letter.redriven is None
    ]


def reason_counts(letters: Iterable[LetterView]) -> list[tuple[str, int, int]]:
    """(reason, entries, not yet redriven) for each reason, most frequent first."""
    total: Counter[str] = Counter()
    pending: Counter[str] = Counter()
    for view in letters:
        total[view.letter.reason] += 1
        pending[view.letter.reason] += view.letter.redriven is None
    return [(reason, count, pending[reason]) for reason, count in total.most_common()]


@dataclass(frozen=True, slots=True)
class UsageRow:
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    events: int

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


def aggregate_usage(events: Iterable[dict[str, Any]]) -> list[UsageRow]:
    """Tokens per (provider, model), largest total first; events without usage count for nothing."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for event in events:
        usage = event.get("usage") or {}
        input_tokens = usage.get("input_tokens") or 0
        output_tokens = usage.get("output_tokens") or 0
        if not (input_tokens or output_tokens):
            continue
        key = (str(event.get("provider")), str(event.get("model") or "unknown"))
        sums[key][0] += int(input_tokens)
        sums[key][1] += int(output_tokens)
        sums[key][2] += 1
    rows = [UsageRow(provider, model, *values) for (provider, model), values in sums.items()]
    return sorted(rows, key=lambda row: (-row.total, row.provider, row.model))


async def recent_usage(redis: AnyRedis, keys: KeySpace) -> tuple[list[UsageRow], int]:
    """Usage of the newest USAGE_SCAN events of each partition, and how many events that was."""
    events: list[dict[str, Any]] = []
    for stream in keys.all_events():
        async with aclosing(newest_entries(redis, stream, USAGE_SCAN)) as entries:
            events += [entry.event() async for entry in entries]
    return aggregate_usage(events), len(events)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    y: int
    input_width: float
    output_width: float
    row: UsageRow


@dataclass(frozen=True, slots=True)
class BarChart:
    """Geometry of a horizontal stacked bar chart (input, then output tokens), in SVG user units."""

    bars: list[Bar]
    width: int
    height: int
    label_width: int
    plot_width: int
    bar_height: int


# What fits left of the bars at 12 px; the table under the chart has the whole name.
LABEL_CHARS = 38


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(rows: Sequence[UsageRow], label_width: int = 260, plot_width: int = 520) -> BarChart:
    bar_height, gap = 22, 12
    largest = max((row.total for row in rows), default=0) or 1
    bars = [
        Bar(
            label=_shorten(f"{row.provider} · {row.model}", LABEL_CHARS),
            y=index * (bar_height + gap),
            input_width=round(plot_width * row.input_tokens / largest, 1),
            output_width=round(plot_width * row.output_tokens / largest, 1),
            row=row,
        )
        for index, row in enumerate(rows)
    ]
    height = max(len(rows) * (bar_height + gap), bar_height)
    return BarChart(bars, label_width + plot_width + 120, height, label_width, plot_width, bar_height)
