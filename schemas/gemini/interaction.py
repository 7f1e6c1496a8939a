"""An Omni interaction as `GET /v1beta/interactions/{id}` returns it, resource version 2.

Statuses per the sheet: `requires_continuation` and `idle` are not in google-genai's literal but are
accepted; a word neither knows is quarantined. The result is the content of the `model_output` steps
after the last `user_input` step (else the top-level `output_*` blocks): a video, image or audio block
is an asset (its `uri`, a Files API link fetched with the API key; or its base64 `data`, as an
`inline:<JSON pointer>` asset, never the bytes), text blocks are the event's text. An interaction that
returns only text about an input video is an `analysis`; any other is a `generation`.

Errors: the interaction's `errors[]` (`code` is a URI), else a `model_output` step's google.rpc
`error`, else, for a failure the webhook announced, the webhook's own error (`error_code` is an enum
word: whichever the event came from is kept).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from schemas.event import Asset, CanonicalEvent, Error, Status, TaskType, Usage
from schemas.gemini.common import RETENTION, done_at, rpc_code_name
from schemas.normalizing import DeliveryContext, build_event, derived_expiry, map_status, total_tokens

STATUSES: dict[str, Status] = {
    "queued": "queued",
    "in_progress": "running",
    "completed": "succeeded",
    "failed": "failed",
    "incomplete": "failed",
    "budget_exceeded": "failed",
    "cancelled": "canceled",
    "requires_action": "suspended",
    "requires_continuation": "suspended",
    "idle": "suspended",
}
# Words the canonical status loses: kept in `extensions.provider_status` (and as the error code of a
# failure that gives no error of its own).
KEPT_WORDS = frozenset({"incomplete", "budget_exceeded", "requires_action", "requires_continuation", "idle"})
MEDIA_KINDS = frozenset({"video", "image", "audio"})


class RpcStatus(BaseModel):
    code: int | str | None = None
    message: str | None = None


class ErrorEntry(BaseModel):
    code: str | None = None
    message: str | None = None


class ContentBlock(BaseModel):
    type: str
    text: str | None = None
    uri: str | None = None
    data: str | None = None
    mime_type: str | None = None


class Step(BaseModel):
    type: str
    content: list[ContentBlock] | None = None
    error: RpcStatus | None = None


class ModalityTokens(BaseModel):
    modality: str | None = None
    tokens: int | None = Field(default=None, ge=0)


class InteractionUsage(BaseModel):
    total_input_tokens: int | None = Field(default=None, ge=0)
    total_output_tokens: int | None = Field(default=None, ge=0)
    total_tokens: int | None = Field(default=None, ge=0)
    output_tokens_by_modality: list[ModalityTokens] | None = None


class Interaction(BaseModel):
    id: str = Field(min_length=1)
    # Open: mapped through STATUSES, an unknown word is quarantined.
    status: str
    model: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    input: Any = None
    steps: list[Step] | None = None
    output_video: ContentBlock | None = None
    output_image: ContentBlock | None = None
    output_audio: ContentBlock | None = None
    output_text: str | None = None
    errors: list[ErrorEntry] | None = None
    usage: InteractionUsage | None = None


def _outputs(payload: Interaction) -> Iterator[tuple[str, ContentBlock]]:
    """The blocks of the last turn's model output, each with its JSON pointer."""
    steps = payload.steps or []
    last_input = max((index for index, step in enumerate(steps) if step.type == "user_input"), default=-1)
    for index in range(last_input + 1, len(steps)):
        step = steps[index]
        if step.type == "model_output":
            for position, block in enumerate(step.content or []):
                yield f"/steps/{index}/content/{position}", block
    if not steps:
        for name in ("output_video", "output_image", "output_audio"):
            block = getattr(payload, name)
            if block is not None:
                yield f"/{name}", block


def _has_video(value: Any) -> bool:
    """Whether an interaction's `input` (text, content blocks or steps, nested) holds a video."""
    if isinstance(value, dict):
        return value.get("type") == "video" or any(_has_video(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_video(item) for item in value)
    return False


def _input_has_video(payload: Interaction) -> bool:
    in_steps = any(
        block.type == "video"
        for step in payload.steps or []
        if step.type == "user_input"
        for block in step.content or []
    )
    return in_steps or _has_video(payload.input)


def _error(payload: Interaction, status: Status, ctx: DeliveryContext) -> Error | None:
    if status == "succeeded":
        return None
    for entry in payload.errors or []:
        return Error(code=entry.code, message=entry.message or "the interaction reported an error")
    for step in payload.steps or []:
        if step.error is not None:
            message = step.error.message or "a model output step reported an error"
            return Error(code=rpc_code_name(step.error.code), message=message)
    if status != "failed":
        return None
    notice = ctx.notice
    if notice is not None and notice.status == status and notice.error is not None:
        return notice.error
    return Error(code=payload.status, message=f"the interaction ended {payload.status} without an error")


def normalize(payload: Interaction, ctx: DeliveryContext) -> CanonicalEvent:
    status = map_status("gemini", payload.status, STATUSES)
    expires_at = derived_expiry(done_at(ctx, payload.updated), RETENTION)
    assets: list[Asset] = []
    texts: list[str] = []
    for pointer, block in _outputs(payload):
        if block.type == "text" and block.text is not None:
            texts.append(block.text)
        elif block.type in MEDIA_KINDS and block.uri is not None:
            assets.append(Asset(kind=block.type, url=block.uri, expires_at=expires_at))
        elif block.type in MEDIA_KINDS and block.data is not None:
            assets.append(Asset(kind=block.type, url=f"inline:{pointer}/data", expires_at=None))
    text = "".join(texts) if texts else payload.output_text
    task_type: TaskType = "generation"
    if text is not None and not assets and _input_has_video(payload):
        task_type = "analysis"
    usage = payload.usage or InteractionUsage()
    by_modality = {
        entry.modality: entry.tokens
        for entry in usage.output_tokens_by_modality or []
        if entry.modality is not None
    }
    extras: dict[str, Any] = {
        "provider_status": payload.status if payload.status in KEPT_WORDS else None,
        "output_tokens_by_modality": by_modality or None,
    }
    return build_event(
        ctx,
        task_id=payload.id,
        task_type=task_type,
        status=status,
        model=payload.model,
        text=text,
        usage=Usage(
            input_tokens=usage.total_input_tokens,
            output_tokens=usage.total_output_tokens,
            total_tokens=total_tokens(
                usage.total_input_tokens, usage.total_output_tokens, usage.total_tokens
            ),
        ),
        error=_error(payload, status, ctx),
        assets=assets,
        occurred_at=payload.updated or payload.created,
        extensions={name: value for name, value in extras.items() if value is not None},
    )
