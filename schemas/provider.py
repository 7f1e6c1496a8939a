"""How a provider declares its payload versions: the model that validates each and its normalizer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from schemas.event import CanonicalEvent, TaskType
from schemas.normalizing import DeliveryContext

Normalizer = Callable[[Any, DeliveryContext], CanonicalEvent]


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One version of a provider's payload: the model that validates it and its pure normalizer."""

    version: int
    payload: type[BaseModel]
    normalize: Normalizer


@dataclass(frozen=True, slots=True)
class ProviderSchemas:
    name: str
    # Callback payloads, newest first: a delivery is decoded by the first version that validates it.
    versions: tuple[SchemaVersion, ...]
    # The task or video object the provider's API returns when it is fetched (after a thin webhook)
    # or polled, newest first; its normalizer sees the webhook's thin event as `ctx.notice`.
    resource_versions: tuple[SchemaVersion, ...] = ()
    # What this provider's tasks are: the kinds a watch can name, the first assumed for the events the
    # receiver makes itself about a task it has not yet seen any payload of (a `deadline_exceeded`
    # before the first successful poll). A provider with several (TwelveLabs' analysis and indexing)
    # finds each at its own route of its API: a watch names one, or the task is looked for at each.
    task_types: tuple[TaskType, ...] = ()
