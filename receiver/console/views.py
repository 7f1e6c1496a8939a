"""What the console's pages show, read from Redis (and, for refusals, this process's counters).

Every read is bounded: the overview and the usage chart look at the newest entries of each stream
only, as `GET /v1/events` does. Figures are labelled with where they come from, because they differ:
what Redis holds (events, dead letters, watches) is the whole deployment's; refused deliveries (401,
413, 429) leave nothing in Redis, so their counts are this process's since it started.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import orjson

from receiver.config import Config
from receiver.core.jobs import Job, JobQueue
from receiver.flow.poll import POLL, watch_phase
from receiver.foundation import metrics
from receiver.foundation.keys import AnyRedis, KeySpace, entry_id_order
from receiver.services.dlq import DeadLetter, DeadLetters
from receiver.services.events_view import EventQuery, StoredEvent, latest_events, newest_entries, stored_event
from receiver.services.taskrecord import WatchState, read_entries, read_task

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
    # This process's callback answers since it started, by outcome.
    answers: Counter[str] = field(default_factory=Counter)

    @property
    def unauthentic_rate(self) -> float | None:
        total = sum(self.answers.values())
        return self.answers["unauthentic"] / total if total else None


@dataclass(frozen=True, slots=True)
class Overview:
    sources: list[SourceSummary]
    scanned_events: int
    scan_complete: bool
    dlq_total: int
    process_started: float


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
        if entry_id_order(letter.entry_id)[0] >= since_ms:
            summary.quarantined_last_hour += 1
    async for job in JobQueue(redis, config.redis.prefix).scan(POLL):
        summary = summaries.get(str(job.payload.get("source")))
        if summary is not None:
            summary.watched += 1
            summary.overdue += is_overdue(job, config, now)
    for source_id, answers in _process_answers().items():
        if source_id in summaries:
            summaries[source_id].answers = answers
    dlq_total = 0
    for stream in keys.all_dlq():
        dlq_total += int(await redis.xlen(stream))
    return Overview(list(summaries.values()), scanned, complete, dlq_total, PROCESS_STARTED)


@dataclass(frozen=True, slots=True)
class TimelineStep:
    status: str
    entry_id: str
    published_ms: int
    event: dict[str, Any] | None  # None: trimmed from the stream since

    @property
    def pretty(self) -> str:
        return orjson.dumps(self.event, option=orjson.OPT_INDENT_2).decode()


@dataclass(frozen=True, slots=True)
class Timeline:
    source: str
    task_id: str
    steps: list[TimelineStep]
    watch: WatchState | None
    assets: list[dict[str, Any]]
    from_task_record: bool  # False: the task's record had expired and the stream was searched


async def task_timeline(redis: AnyRedis, keys: KeySpace, prefix: str, source: str, task_id: str) -> Timeline:
    """The task's record (receiver/services/taskrecord.py: every status published, its watch), each
    status with its raw event from the stream."""
    record = await read_task(redis, keys, JobQueue(redis, prefix), source, task_id)
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
    from_record = bool(entries)
    if not from_record:
        # The record expires with the dedupe window; the stream may still hold the task's events.
        query = EventQuery(source=source, task_id=task_id, limit=50)
        entries = [(entry.status, entry.entry_id, entry) for entry in await latest_events(redis, keys, query)]
    entries.sort(key=lambda item: entry_id_order(item[1]))
    steps = [
        TimelineStep(status, entry_id, entry_id_order(entry_id)[0], None if entry is None else entry.event())
        for status, entry_id, entry in entries
    ]
    watch = None if record is None else record.watch
    assets: list[dict[str, Any]] = next(
        (list(step.event["assets"]) for step in reversed(steps) if step.event and step.event.get("assets")),
        [],
    )
    return Timeline(source, task_id, steps, watch, assets, from_record)


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
