"""BASELINE (see `bench/baseline/__init__.py`): `decode` and the event assembly as of commit 3dc598d."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from operator import attrgetter
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from receiver.errors import Quarantine
from receiver.pipeline import summarize_errors

from bench.baseline.json_gate import Refused, screen
from receiver.config import LimitsConfig
from schemas.event import (
    SCHEMA_VERSION,
    Asset,
    CanonicalEvent,
    Error,
    OutOfRange,
    Segment,
    Status,
    TaskType,
    Usage,
    as_utc,
    event_id_for,
)
from schemas.normalizing import DeliveryContext, UnknownStatus
from schemas.provider import Normalizer

_DUMP_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def event_to_json(event: CanonicalEvent) -> bytes:
    return orjson.dumps(event, option=_DUMP_OPTIONS)


def decode(
    versions: Iterable[tuple[type[BaseModel], Normalizer]],
    body: bytes,
    ctx: DeliveryContext,
    limits: LimitsConfig,
) -> CanonicalEvent:
    try:
        document = screen(body, limits)
    except Refused as refused:
        raise Quarantine(refused.reason, refused.detail) from None
    failures = []
    for version, (model, normalize) in enumerate(versions, 1):
        try:
            payload = model.model_validate(document)
        except ValidationError as exc:
            failures.append(f"v{version}: {summarize_errors(exc)}")
            continue
        try:
            event = normalize(payload, ctx)
        except UnknownStatus as exc:
            raise Quarantine("unknown_status", str(exc)) from None
        except OutOfRange as exc:
            raise Quarantine("number_out_of_range", str(exc)) from None
        try:
            event_to_json(event)
        except orjson.JSONEncodeError as exc:
            raise Quarantine("number_out_of_range", f"the event cannot be serialized: {exc}") from None
        return event
    raise Quarantine(
        "unknown_schema_version",
        f"the body matches no known schema version ({' | '.join(failures)})",
    )


def seconds_to_ms(seconds: float) -> int:
    try:
        return round(seconds * 1000)
    except OverflowError:
        raise OutOfRange(f"{seconds!r} seconds is no finite number of milliseconds") from None


_BY_TIME = attrgetter("start_ms", "end_ms")


def sorted_segments(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    return tuple(sorted(segments, key=_BY_TIME))


def build_event(
    ctx: DeliveryContext,
    *,
    task_id: str,
    task_type: TaskType,
    status: Status,
    model: str | None = None,
    text: str | None = None,
    title: str | None = None,
    segments: Iterable[Segment] = (),
    usage: Usage | None = None,
    error: Error | None = None,
    truncated: bool = False,
    assets: Iterable[Asset] = (),
    occurred_at: datetime | None = None,
    delivery_id: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> CanonicalEvent:
    return CanonicalEvent(
        event_id=event_id_for(ctx.source, task_id, status),
        schema_version=SCHEMA_VERSION,
        source=ctx.source,
        provider=ctx.provider,
        task_id=task_id,
        task_type=task_type,
        status=status,
        model=model,
        text=text,
        title=title,
        segments=sorted_segments(segments),
        usage=usage or Usage(),
        error=error,
        truncated=truncated,
        assets=tuple(assets),
        occurred_at=as_utc(occurred_at),
        received_at=as_utc(ctx.received_at),
        delivery_id=delivery_id if delivery_id is not None else ctx.delivery_id,
        extensions=dict(extensions or {}),
    )
