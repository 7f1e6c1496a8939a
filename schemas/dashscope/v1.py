"""DashScope async task, version 1: `{request_id, output {task_id, task_status, ...}, usage {...}}`.

- Statuses PENDING, RUNNING, SUSPENDED, SUCCEEDED, FAILED, CANCELED. `UNKNOWN` (the task is not found,
  expired, or not visible to this key) is no status of a task: the client turns it into "not found"
  (receiver/providers/dashscope/client.py), and a document that still says it is quarantined here,
  never published.
- The video is `output.video_url`, or `output.results`, either a list of `{url, ...}` or an object with
  `video_url` (Wan variants differ): every URL found is a video asset.
- Times are `YYYY-MM-DD HH:MM:SS.mmm` without a zone, in the region's local time. The client adds the
  source's `time_zone` (an IANA name) to the document, so that this normalizer stays pure; without it,
  Asia/Shanghai (Beijing, the default region).
- `expires_at`: the signed OSS URL's `Expires=` (unix seconds) when it has one, else `end_time` + 24 h
  (derived: results are kept 24 h), else the poll time + 24 h.
- `usage.video_duration` (s), `video_count`, `video_ratio` go to `extensions`; failures carry
  `output.code` / `output.message`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, JsonValue, field_validator

from schemas.event import Asset, CanonicalEvent, Error, Status, Usage
from schemas.normalizing import DeliveryContext, build_event, derived_expiry, map_status, utc_from_unix

PROVIDER_ID = "dashscope"
DEFAULT_TIME_ZONE = "Asia/Shanghai"
RETENTION = timedelta(hours=24)
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")

STATUSES: dict[str, Status] = {
    "PENDING": "queued",
    "RUNNING": "running",
    "SUSPENDED": "suspended",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "CANCELED": "canceled",
}


def known_time_zone(value: str) -> str:
    """`value`, checked to name a time zone of the IANA database (Asia/Shanghai, America/New_York)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        raise ValueError(f"must be an IANA time zone name such as Asia/Shanghai, not {value!r}") from None
    return value


TimeZone = Annotated[str, AfterValidator(known_time_zone)]


def local_time(value: str) -> datetime:
    """A DashScope time, still without its zone."""
    for form in TIME_FORMATS:
        try:
            return datetime.strptime(value, form)
        except ValueError:
            continue
    raise ValueError(f"not a DashScope time (YYYY-MM-DD HH:MM:SS.mmm): {value!r}")


class Result(BaseModel):
    url: str | None = None


class ResultObject(BaseModel):
    video_url: str | None = None


class Output(BaseModel):
    task_id: str = Field(min_length=1, max_length=256)
    task_status: str
    submit_time: datetime | None = None
    scheduled_time: datetime | None = None
    end_time: datetime | None = None
    video_url: str | None = None
    results: list[Result] | ResultObject | None = None
    code: str | None = None
    message: str | None = None
    task_metrics: dict[str, int] | None = None
    orig_prompt: str | None = None
    actual_prompt: str | None = None

    @field_validator("submit_time", "scheduled_time", "end_time", mode="before")
    @classmethod
    def _local(cls, value: Any) -> datetime | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ValueError("a DashScope time is a string")
        return local_time(value)

    def urls(self) -> Iterator[str]:
        seen = set()
        results = self.results
        found = [self.video_url]
        if isinstance(results, list):
            found += [result.url for result in results]
        elif results is not None:
            found.append(results.video_url)
        for url in found:
            if url and url not in seen:
                seen.add(url)
                yield url


class TaskUsage(BaseModel):
    video_duration: int | float | None = Field(default=None, ge=0)
    video_count: int | None = Field(default=None, ge=0)
    # "1920*1080", or a word such as "standard" on some models.
    video_ratio: str | None = None


class TaskResponse(BaseModel):
    request_id: str | None = None
    output: Output
    usage: TaskUsage | None = None
    # Added by the client: the source's region time zone.
    time_zone: TimeZone = DEFAULT_TIME_ZONE


def signed_expiry(url: str) -> datetime | None:
    """The OSS signature's `Expires=` (unix seconds), if the URL carries one."""
    values = parse_qs(urlsplit(url).query).get("Expires")
    if not values or not values[0].isdigit():
        return None
    return utc_from_unix(int(values[0]))


def normalize(payload: TaskResponse, ctx: DeliveryContext) -> CanonicalEvent:
    output = payload.output
    status = map_status(PROVIDER_ID, output.task_status, STATUSES)
    zone = ZoneInfo(payload.time_zone)
    submitted, scheduled, ended = (
        None if moment is None else moment.replace(tzinfo=zone)
        for moment in (output.submit_time, output.scheduled_time, output.end_time)
    )
    error = None
    if status == "failed":
        error = Error(code=output.code, message=output.message or "DashScope reported the task failed")
    assets: tuple[Asset, ...] = ()
    if status == "succeeded":
        fallback = derived_expiry(ended or ctx.received_at, RETENTION)
        assets = tuple(
            Asset(kind="video", url=url, expires_at=signed_expiry(url) or fallback) for url in output.urls()
        )
    processing_ms = None
    if ended is not None and scheduled is not None:
        processing_ms = max(0, round((ended - scheduled).total_seconds() * 1000))
    usage = payload.usage or TaskUsage()
    extras: dict[str, JsonValue] = {
        "request_id": payload.request_id,
        "video_duration": usage.video_duration,
        "video_count": usage.video_count,
        "video_ratio": usage.video_ratio,
        "task_metrics": dict(output.task_metrics) if output.task_metrics else None,
        "orig_prompt": output.orig_prompt,
        "actual_prompt": output.actual_prompt,
    }
    return build_event(
        ctx,
        task_id=output.task_id,
        task_type="generation",
        status=status,
        usage=Usage(processing_ms=processing_ms),
        error=error,
        assets=assets,
        occurred_at=ended or scheduled or submitted,
        extensions={name: value for name, value in extras.items() if value is not None},
    )
