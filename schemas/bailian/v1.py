"""Bailian (Alibaba Cloud Model Studio) Quanmiao video analysis task, version 1: `GetVideoAnalysisTask`.

`{requestId, code, message, httpStatusCode, success, data {header {errorCode, errorMessage, ...},
taskStatus, taskId, errorMessage, taskRunInfo {responseTime}, payload {output {...}, usage {...}}}}`,
keys in camelCase, times in integer milliseconds from the start of the video.

Rules, each from the provider's own reference:
- the status comes from `success` and `taskStatus` only: `code` is free-form and a non-empty
  `errorMessage` appears on successful tasks too;
- `header.errorCode == "ViolationOfSecurityPolicy"` means the content was refused and the business
  data is empty: the task failed, with that code;
- the main text is `videoAnalysisResult.text`; a task that ran only the generation step has its text
  in `videoGenerateResult.text`, which is then the main text (when both are present the generated
  text is kept as `extensions.generated_text`);
- shot analysis and captions are segments of kinds `shot` and `caption`; a caption's speaker, when
  named, leads its text (`"Speaker 1: ..."`) because a segment has no field of its own for it;
- a final task with any part whose `generateFinished` is false was cut short: `truncated`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator, with_config
from pydantic.alias_generators import to_camel
from typing_extensions import TypedDict

from schemas.event import TERMINAL_STATUSES, CanonicalEvent, Error, Segment, Status, Usage
from schemas.normalizing import DeliveryContext, UnknownStatus, build_event, map_status, total_tokens

PROVIDER_ID = "bailian"
SECURITY_VIOLATION = "ViolationOfSecurityPolicy"

# `SUCCESSED` is spelled so by the API.
STATUSES: dict[str, Status] = {
    "PENDING": "queued",
    "RUNNING": "running",
    "SUCCESSED": "succeeded",
    "SUSPENDED": "suspended",
    "FAILED": "failed",
    "CANCELED": "canceled",
}


_CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class _Camel(BaseModel):
    model_config = _CAMEL


class TokenUsage(_Camel):
    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)
    total_tokens: int | None = Field(default=None, ge=0)


class Part(_Camel):
    """One generated part of the output; `generateFinished: false` means it was cut short."""

    generate_finished: bool | None = None
    text: str | None = None


# PERF: TypedDicts, not models (bench/README.md, index: decode).
# Shots and captions are dicts, not models: a long video's result holds thousands of each, and pydantic
# validates a list of TypedDicts in a third of the time it takes to build as many model instances.
@with_config(_CAMEL)
class Shot(TypedDict):
    start_time: Annotated[int, Field(ge=0)]
    end_time: Annotated[int, Field(ge=0)]
    text: str


class AnalysisResult(Part):
    video_shot_analysis_results: list[Shot] = Field(default_factory=list)


@with_config(_CAMEL)
class Caption(TypedDict):
    start_time: Annotated[int, Field(ge=0)]
    end_time: Annotated[int, Field(ge=0)]
    text: str
    speaker: NotRequired[str | None]


class CaptionResult(Part):
    video_captions: list[Caption] = Field(default_factory=list)


class GenerateResult(Part):
    model_id: str | None = None
    # Which of several requested generations this is (`videoGenerateResults`), and the model's reasoning.
    index: int | None = None
    reason_text: str | None = None


class MindMapNode(_Camel):
    name: str
    child_nodes: list[MindMapNode] = Field(default_factory=list)


class MindMapResult(Part):
    video_mind_mappings: list[MindMapNode] = Field(default_factory=list)


class Output(_Camel):
    video_analysis_result: AnalysisResult | None = None
    video_caption_result: CaptionResult | None = None
    video_generate_result: GenerateResult | None = None
    video_generate_results: list[GenerateResult] = Field(default_factory=list)
    video_title_generate_result: Part | None = None
    video_mind_mapping_generate_result: MindMapResult | None = None
    # Who appears in the video, as the SDK models it: kept whole in `extensions.role_recognition`.
    video_role_recognition_result: JsonValue = None
    result_json_file_url: str | None = None

    def parts(self) -> Iterator[Part]:
        yield from (
            part
            for part in (
                self.video_analysis_result,
                self.video_caption_result,
                self.video_generate_result,
                self.video_title_generate_result,
                self.video_mind_mapping_generate_result,
            )
            if part is not None
        )
        yield from self.video_generate_results


class TaskPayload(_Camel):
    output: Output | None = None
    usage: TokenUsage | None = None


class Header(_Camel):
    error_code: str | None = None
    error_message: str | None = None
    event: str | None = None
    task_id: str | None = None


class RunInfo(_Camel):
    concurrent_charge_enable: bool | None = None
    response_time: int | None = Field(default=None, ge=0)


class TaskData(_Camel):
    header: Header | None = None
    task_status: str | None = None
    task_id: str | None = None
    error_message: str | None = None
    task_run_info: RunInfo | None = None
    payload: TaskPayload | None = None

    @model_validator(mode="after")
    def _names_the_task(self) -> TaskData:
        if not (self.task_id or (self.header and self.header.task_id)):
            raise ValueError("neither data.taskId nor data.header.taskId names the task")
        return self

    @property
    def the_task_id(self) -> str:
        return self.task_id or (self.header.task_id if self.header else None) or ""


class TaskResponse(_Camel):
    request_id: str | None = None
    code: str | None = None
    message: str | None = None
    http_status_code: int | None = None
    success: bool | None = None
    data: TaskData


def _status(response: TaskResponse) -> Status:
    header = response.data.header or Header()
    if response.success is False or header.error_code == SECURITY_VIOLATION:
        return "failed"
    if response.data.task_status is None:
        raise UnknownStatus(PROVIDER_ID, None)
    return map_status(PROVIDER_ID, response.data.task_status, STATUSES)


def _error(response: TaskResponse, status: Status) -> Error | None:
    if status != "failed":
        return None
    header = response.data.header or Header()
    message = (
        response.data.error_message
        or header.error_message
        or (response.message if response.success is False else None)
        or "Bailian reported the task failed"
    )
    code = header.error_code or (response.code if response.success is False else None)
    return Error(code=code, message=message)


def _segments(output: Output) -> list[Segment]:
    """One `Segment` per shot or caption and nothing else allocated: most of a long result's cost."""
    analysis = output.video_analysis_result or AnalysisResult()
    captions = output.video_caption_result or CaptionResult()
    return [
        *(
            Segment(shot["start_time"], shot["end_time"], shot["text"], "shot")
            for shot in analysis.video_shot_analysis_results
        ),
        *(
            Segment(
                caption["start_time"],
                caption["end_time"],
                f"{speaker}: {caption['text']}" if (speaker := caption.get("speaker")) else caption["text"],
                "caption",
            )
            for caption in captions.video_captions
        ),
    ]


def _extensions(output: Output, main_text: str | None) -> dict[str, Any]:
    extensions: dict[str, Any] = {}
    generated = output.video_generate_result
    if generated is not None and generated.text and generated.text != main_text:
        extensions["generated_text"] = generated.text
    mind_map = output.video_mind_mapping_generate_result
    if mind_map is not None and mind_map.video_mind_mappings:
        extensions["mind_map"] = [node.model_dump(by_alias=True) for node in mind_map.video_mind_mappings]
    if output.video_generate_results:
        extensions["generate_results"] = [
            result.model_dump(by_alias=True, exclude_none=True) for result in output.video_generate_results
        ]
    if output.video_role_recognition_result is not None:
        extensions["role_recognition"] = output.video_role_recognition_result
    if output.result_json_file_url is not None:
        extensions["result_json_file_url"] = output.result_json_file_url
    return extensions


def normalize(payload: TaskResponse, ctx: DeliveryContext) -> CanonicalEvent:
    status = _status(payload)
    task = payload.data.payload or TaskPayload()
    output = task.output or Output()
    usage = task.usage or TokenUsage()
    analysis_text = output.video_analysis_result.text if output.video_analysis_result else None
    generated = output.video_generate_result or GenerateResult()
    text = analysis_text or generated.text
    title = output.video_title_generate_result
    run_info = payload.data.task_run_info or RunInfo()
    return build_event(
        ctx,
        task_id=payload.data.the_task_id,
        task_type="analysis",
        status=status,
        model=generated.model_id,
        text=text,
        title=title.text if title else None,
        segments=_segments(output),
        usage=Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=total_tokens(usage.input_tokens, usage.output_tokens, usage.total_tokens),
            processing_ms=run_info.response_time,
        ),
        error=_error(payload, status),
        truncated=status in TERMINAL_STATUSES
        and any(part.generate_finished is False for part in output.parts()),
        extensions=_extensions(output, text),
    )
