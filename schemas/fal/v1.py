"""fal Queue API, version 1: the webhook and the queue status document (with its result, when done).

The webhook is one POST when a request finishes: `{request_id, gateway_request_id, status: "OK" |
"ERROR", payload, error?, payload_error?}`. `payload` is the model's own output (its schema is the
model's), or on ERROR the error's detail. `gateway_request_id` differs from `request_id` after an
internal retry; the task is `request_id`. fal sends no delivery id: the event id, a function of (source,
task, status), is what makes a redelivery a duplicate.

OK with `payload_error` means the request succeeded but fal could not serialize its output into the
webhook: the event is `succeeded`, `truncated`, without assets, the reason in
`extensions.payload_error` (the result stays at the request's `response_url` for 30 days).

Media are wherever the model put them: every object with a string `url` that has a `content_type`, or
that sits under a media key (`video`, `videos[]`, `image`, `images[]`, `audio`, ...), is an asset,
its kind from the content type's major type, else from the key. fal documents no expiry for its CDN
files (retention is per request or account), so `expires_at` is null. A `data:` URI (models run in
sync mode may inline their output) is media, not event data: its asset's url is
`inline:<JSON pointer to the url>`.

The status document is what `GET {base}/{app}/requests/{id}/status` answers: `IN_QUEUE` (with
`queue_position`), `IN_PROGRESS`, `COMPLETED` (with `error`/`error_type` when the request failed, and
`metrics.inference_time` in seconds). It names no request: the client adds `request_id`, and, for a
request completed without an error, the result (`GET {base}/{app}/requests/{id}`) as `payload`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from schemas.event import Asset, CanonicalEvent, Error, Status, Usage
from schemas.normalizing import DeliveryContext, build_event, map_status, seconds_to_ms

WEBHOOK_STATUSES: dict[str, Status] = {"OK": "succeeded", "ERROR": "failed"}
QUEUE_STATUSES: dict[str, Status] = {"IN_QUEUE": "queued", "IN_PROGRESS": "running", "COMPLETED": "succeeded"}
# Keys under which fal models put media objects that may lack a `content_type`.
MEDIA_KEYS: dict[str, str] = {
    "video": "video",
    "videos": "video",
    "image": "image",
    "images": "image",
    "audio": "audio",
    "audios": "audio",
    "audio_file": "audio",
    "audio_url": "audio",
    "thumbnail": "image",
    "last_frame": "image",
}
MEDIA_TYPES = frozenset({"video", "image", "audio"})
PAYLOAD_POINTER = "/payload"


def _pointer_part(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _asset(node: dict[str, Any], pointer: str, hint: str | None) -> Asset | None:
    url = node.get("url")
    content_type = node.get("content_type")
    if not isinstance(url, str) or (hint is None and not isinstance(content_type, str)):
        return None
    major = content_type.partition("/")[0] if isinstance(content_type, str) else ""
    kind = major if major in MEDIA_TYPES else hint or "file"
    if url.startswith("data:"):
        return Asset(kind=kind, url=f"inline:{pointer}/url", expires_at=None)
    if url.startswith(("https://", "http://")):
        return Asset(kind=kind, url=url, expires_at=None)
    return None


def media_assets(payload: Any, pointer: str = PAYLOAD_POINTER) -> tuple[Asset, ...]:
    """Every media object in a model's output, in document order, each URL once."""
    found: dict[str, Asset] = {}

    def walk(node: Any, path: str, hint: str | None) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}/{index}", hint)
        elif isinstance(node, dict):
            asset = _asset(node, path, hint)
            if asset is not None and asset.url is not None:
                found.setdefault(asset.url, asset)
                return
            for key, value in node.items():
                walk(value, f"{path}/{_pointer_part(str(key))}", MEDIA_KEYS.get(str(key)))

    walk(payload, pointer, None)
    return tuple(found.values())


def _detail(payload: Any) -> Any:
    return payload.get("detail") if isinstance(payload, dict) else None


class Webhook(BaseModel):
    request_id: str = Field(min_length=1)
    gateway_request_id: str | None = None
    # Open: OK and ERROR are documented; another word is quarantined.
    status: str
    payload: Any = None
    error: str | None = None
    error_type: str | None = None
    payload_error: str | None = None


def normalize(payload: Webhook, ctx: DeliveryContext) -> CanonicalEvent:
    status = map_status("fal", payload.status, WEBHOOK_STATUSES)
    error = None
    assets: tuple[Asset, ...] = ()
    detail = None
    if status == "failed":
        detail = _detail(payload.payload)
        message = payload.error or (str(detail) if detail else None)
        error = Error(code=payload.error_type, message=message or "fal reported the request failed")
    else:
        assets = media_assets(payload.payload)
    extras: dict[str, Any] = {
        "gateway_request_id": (
            payload.gateway_request_id if payload.gateway_request_id != payload.request_id else None
        ),
        "payload_error": payload.payload_error,
        "detail": detail,
    }
    return build_event(
        ctx,
        task_id=payload.request_id,
        task_type="generation",
        status=status,
        error=error,
        truncated=status == "succeeded" and payload.payload_error is not None,
        assets=assets,
        extensions={name: value for name, value in extras.items() if value is not None},
    )


class Metrics(BaseModel):
    inference_time: float | None = Field(default=None, ge=0)


class QueueStatus(BaseModel):
    # Added by the client from the request it asked about: the status document names none.
    request_id: str = Field(min_length=1)
    # Open: IN_QUEUE, IN_PROGRESS, COMPLETED; another word is quarantined.
    status: str
    queue_position: int | None = Field(default=None, ge=0)
    # Absent on legacy apps.
    metrics: Metrics | None = None
    error: str | None = None
    error_type: str | None = None
    # Added by the client: the result of a request COMPLETED without an error.
    payload: Any = None


def normalize_status(payload: QueueStatus, ctx: DeliveryContext) -> CanonicalEvent:
    status = map_status("fal", payload.status, QUEUE_STATUSES)
    error = None
    assets: tuple[Asset, ...] = ()
    if status == "succeeded" and payload.error is not None:
        status = "failed"
        error = Error(code=payload.error_type, message=payload.error or "fal reported the request failed")
    elif status == "succeeded":
        assets = media_assets(payload.payload)
    inference_time = payload.metrics.inference_time if payload.metrics else None
    return build_event(
        ctx,
        task_id=payload.request_id,
        task_type="generation",
        status=status,
        error=error,
        assets=assets,
        usage=Usage(processing_ms=None if inference_time is None else seconds_to_ms(inference_time)),
        extensions={"queue_position": payload.queue_position} if payload.queue_position is not None else {},
    )
