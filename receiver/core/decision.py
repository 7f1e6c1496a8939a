"""One decision per task: what an observation of a task means, given what is already known of it.

Every path that learns something of a task (a callback, a fetch after a webhook, a poll, a
reconciliation, a redrive, a replay, an asset copy) ends in `decide`, so that the rules of the
contract ("One truth per task") live in one pure function:

- the API's final word wins over a webhook's and is published at once, the webhook's word kept in
  `extensions.notified_status`; a non-final API answer behind a proven webhook is asked again (`Wait`);
- an (source, task, status) already in the stream is a duplicate, a status behind the task's highest
  is stale (both checked atomically by the publish script, which reports what holds the slot; the
  paths that work before they publish, a fetch or an asset copy, have it peek first, writing nothing);
- an incomplete event (`fetch_failed`, `asset_errors`, `truncated`) is superseded once by the
  complete result of the same status, under a new event id naming the incomplete one; a complete
  event is never superseded.

No I/O here: the publisher and the fetcher bring the facts and carry out the verdict.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Literal

from schemas.event import TERMINAL_STATUSES, CanonicalEvent

FETCH_FAILED = "fetch_failed"
# A superseding event's id: a pure function of the incomplete event's id, so that every path (and
# every retry) that completes the same event names the same new one.
_SUPERSEDE_NAMESPACE = uuid.UUID("0c2b6f1e-8d4a-4f57-a1c3-5e9b7d2f4a60")


def incomplete(event: CanonicalEvent) -> bool:
    """Whether `event` lacks part of the task's result: its fetch failed, an asset could not be
    copied, or the provider cut its text short."""
    return (
        (event.error is not None and event.error.code == FETCH_FAILED)
        or bool(event.extensions.get("asset_errors"))
        or event.truncated
    )


@dataclass(frozen=True, slots=True)
class Holder:
    """What the task's record says of an event's (source, task, status), as the publish script found it.

    `stale`: the task is already past this status. Otherwise the slot is taken (or the delivery id was
    seen); `incomplete` is then the event id of the incomplete event holding it, if it is one.
    """

    stale: bool = False
    incomplete: str | None = None


@dataclass(frozen=True, slots=True)
class Publish:
    event: CanonicalEvent
    why: str


@dataclass(frozen=True, slots=True)
class Supersede:
    """Publish `event` in place of the incomplete event `replaces` (its event id)."""

    event: CanonicalEvent
    replaces: str
    why: str


@dataclass(frozen=True, slots=True)
class Wait:
    """Ask the API again later: its answer lags behind what a proven webhook said."""

    why: str


@dataclass(frozen=True, slots=True)
class Drop:
    outcome: Literal["duplicate", "stale"]
    why: str


Decision = Publish | Supersede | Wait | Drop


def superseding(event: CanonicalEvent, replaces: str) -> CanonicalEvent:
    """`event` as the completion of the incomplete event `replaces`: a new id that names it."""
    return replace(
        event,
        event_id=str(uuid.uuid5(_SUPERSEDE_NAMESPACE, replaces)),
        extensions={**event.extensions, "supersedes": replaces},
    )


def decide(
    event: CanonicalEvent,
    why: str,
    *,
    notice: CanonicalEvent | None = None,
    proven: bool = True,
    holder: Holder | None = None,
) -> Decision:
    """What observing `event` means for its task.

    `why`: how the receiver learned it (kept with the event in the task's record). `notice`: the
    webhook's event, when `event` is the API's answer fetched after it; `proven`: whether that webhook's
    body was proven (a signature), else its word counts for nothing. `holder`: None while the task's
    record has no say yet (the publish script reports one when the slot is taken or behind).
    """
    if notice is not None and proven and event.status != notice.status:
        if event.status not in TERMINAL_STATUSES:
            return Wait(f"the fetched object says {event.status!r}, the webhook {notice.status!r}")
        event = replace(event, extensions={**event.extensions, "notified_status": notice.status})
        why = f"{why}: the API's final word over the webhook's {notice.status!r}"
    if holder is None:
        return Publish(event, why)
    if holder.stale:
        return Drop("stale", "the task is already past this status")
    if holder.incomplete is not None and not incomplete(event):
        return Supersede(superseding(event, holder.incomplete), holder.incomplete, f"{why}: complete result")
    return Drop("duplicate", "this status of the task is already published")
