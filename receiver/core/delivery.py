"""A delivery: one body the receiver was given about a task, with what it is and how it came.

Every path builds one (a callback, a fetch, a poll, a replay, a redrive) and hands it to the
pipeline, so that decoding, keeping a dead letter and deciding the task's fate read the same facts:

- `kind`: `callback`, a provider's webhook body, decoded with its callback schema versions; or
  `resource`, the task object of the provider's API (fetched or polled), decoded with its resource
  versions. A dead letter keeps the kind, so that a redrive decodes it the same way.
- `provenance`: `signed` (a callback whose scheme proved the body), `notification` (a callback only
  its URL vouches for: a claim the API must confirm), `api` (the provider's API answered it),
  `replay` or `redrive` (an operator's second run of a kept body).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from receiver.sources import SourceConfig
from schemas.event import CanonicalEvent
from schemas.normalizing import DeliveryContext

Kind = Literal["callback", "resource"]
Provenance = Literal["signed", "notification", "api", "replay", "redrive"]
KINDS: tuple[Kind, ...] = ("callback", "resource")
PROVENANCES: tuple[Provenance, ...] = ("signed", "notification", "api", "replay", "redrive")


@dataclass(frozen=True, slots=True)
class Delivery:
    source: SourceConfig
    body: bytes
    kind: Kind
    provenance: Provenance
    received_at: datetime
    # The delivery id a verifier read (the event's `delivery_id`); None for a polled object.
    delivery_id: str | None = None
    # Headers as received; the pipeline keeps only the public ones with a dead letter.
    headers: Mapping[str, str] = field(default_factory=dict)
    # The webhook's own event, for a task object fetched after it.
    notice: CanonicalEvent | None = None

    def context(self) -> DeliveryContext:
        """What a normalizer is told of the delivery besides its body."""
        source = self.source
        return DeliveryContext(
            source.id, source.provider, self.received_at, self.delivery_id, self.notice, source.api_base_url
        )

    @property
    def why(self) -> str:
        """How the receiver learned what this delivery says: the task record's account of it."""
        return f"{self.kind} ({self.provenance})"
