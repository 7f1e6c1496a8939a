"""What the TwelveLabs webhook and the fetched task share: the status words and what an error means.

TwelveLabs documents its status enum as open (new words appear), so payloads validate the status as
a plain string and it is mapped here; a word this table does not know is quarantined, not guessed.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel, JsonValue

from schemas.event import Error, Status
from schemas.normalizing import map_status

PROVIDER_ID = "twelvelabs"

STATUSES: dict[str, Status] = {
    "queued": "queued",
    "pending": "queued",
    "validating": "running",
    "processing": "running",
    "indexing": "running",
    "ready": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
}


class TaskError(BaseModel):
    message: str
    # Why the task ended when it did: `user_canceled`, `batch_canceled`, `batch_expired`,
    # `batch_processing_timeout`, ... (an open set, kept as it is).
    code: str | None = None


class IndexPlacement(BaseModel):
    """Where an indexing task put its video: what its webhook and its task object both name."""

    index_id: str | None = None
    video_id: str | None = None
    system_metadata: JsonValue = None
    user_metadata: JsonValue = None

    def placement(self) -> dict[str, Any]:
        """The event's `extensions` for it: each field that is set."""
        names = ("index_id", "video_id", "system_metadata", "user_metadata")
        return {name: value for name in names if (value := getattr(self, name)) is not None}


def status_of(word: str) -> Status:
    return map_status(PROVIDER_ID, word, STATUSES)


class Outcome(NamedTuple):
    error: Error | None
    truncated: bool
    # On a cut-short success, TwelveLabs' message says why; it is kept here, not as an error.
    extensions: dict[str, Any]


def outcome(status: Status, error: TaskError | None) -> Outcome:
    """The event's error and truncation.

    On `ready` an error does not undo the success: TwelveLabs says the result was cut short, so the
    event is `succeeded` with `truncated: true`, no error, and the message as `truncation_message`.
    A failure always carries an error, with TwelveLabs' message when it gave one.
    """
    if status == "succeeded":
        if error is None:
            return Outcome(None, False, {})
        return Outcome(None, True, {"truncation_message": error.message})
    if status == "failed" and error is None:
        return Outcome(Error(code=None, message="TwelveLabs reported the task failed"), False, {})
    return Outcome(None if error is None else Error(code=error.code, message=error.message), False, {})
