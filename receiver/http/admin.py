"""The admin API behind the admin token: watch a task, read its record, the dead letters, the events."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from typing import Annotated, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from receiver.core.decoding import summarize_errors
from receiver.core.jobs import JobQueue
from receiver.flow import poll
from receiver.foundation.errors import ErrorAnswer
from receiver.foundation.settings import not_null
from receiver.http.responses import json_response, read_body
from receiver.services import events_view
from receiver.services.dlq import DeadLetters
from receiver.services.taskrecord import read_task
from receiver.wiring.runtime import Runtime


def require_admin(request: Request) -> Runtime:
    """Admin routes take `Authorization: Bearer <[admin] token>`; with no token configured: off (404)."""
    runtime: Runtime = request.app.state.runtime
    configured = runtime.config.admin.token
    if configured is None:
        raise ErrorAnswer(404, "not_found", "admin routes are off: no [admin] token is configured")
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise ErrorAnswer(401, "invalid_token", "admin routes need Authorization: Bearer <token>")
    expected = hashlib.sha256(configured.get_secret_value().encode()).digest()
    if not hmac.compare_digest(expected, hashlib.sha256(presented.strip().encode()).digest()):
        raise ErrorAnswer(401, "invalid_token", "the bearer token is not the admin token")
    return runtime


# A watch request is a task id in a small JSON object.
MAX_WATCH_BODY_BYTES = 4096


async def watch_task(request: Request) -> Response:
    """`POST /v1/sources/{source_id}/tasks`: start watching a task (admin)."""
    runtime = require_admin(request)
    source_id: str = request.path_params["source_id"]
    source = runtime.config.source(source_id)
    if source is None:
        raise ErrorAnswer(404, "unknown_source", f"no source {source_id!r} is configured")
    problem = poll.unwatchable(source)
    if problem is not None:
        raise ErrorAnswer(409, "not_pollable", problem)
    body = await read_body(request, MAX_WATCH_BODY_BYTES)
    wanted = request_of(poll.WatchRequest, body, 'expected {"task_id": "..."}')
    task_id = wanted.task_id
    problem = poll.watch_type_problem(source, wanted.task_type)
    if problem is not None:
        raise ErrorAnswer(422, "invalid_request", f"task_type: {problem}")
    created = await poll.watch(
        JobQueue(runtime.redis, runtime.config.redis.prefix),
        source,
        task_id,
        runtime.clock(),
        task_type=wanted.task_type,
    )
    status = "watching" if created else "already_watching"
    return json_response(202, {"status": status, "source": source.id, "task_id": task_id})


async def task_record(request: Request) -> Response:
    """`GET /v1/sources/{source_id}/tasks/{task_id}`: what the receiver knows of a task (admin)."""
    runtime = require_admin(request)
    source_id: str = request.path_params["source_id"]
    task_id: str = request.path_params["task_id"]
    source = runtime.config.source(source_id)
    if source is None:
        raise ErrorAnswer(404, "unknown_source", f"no source {source_id!r} is configured")
    queue = JobQueue(runtime.redis, runtime.config.redis.prefix)
    record = await read_task(
        runtime.redis,
        runtime.pipeline.publisher.keys,
        queue,
        source_id,
        task_id,
        fetch_deadline_seconds=source.fetch_deadline_seconds,
    )
    if record is None:
        raise ErrorAnswer(404, "unknown_task", f"nothing is known of task {task_id!r} of {source_id!r}")
    return json_response(200, record.as_json())


def _dead_letters(request: Request) -> tuple[Runtime, DeadLetters]:
    runtime = require_admin(request)
    return runtime, DeadLetters(runtime.redis, runtime.pipeline.publisher.keys)


async def dlq_list(request: Request) -> Response:
    """`GET /v1/dlq?limit=N&source=S`: the oldest quarantined deliveries, without their bodies."""
    _, letters = _dead_letters(request)
    limit_text = request.query_params.get("limit", "50")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
        raise ErrorAnswer(400, "invalid_limit", "limit must be an integer from 1 to 1000")
    found = await letters.oldest(int(limit_text), request.query_params.get("source"))
    return json_response(200, {"entries": [letter.summary() for letter in found]})


async def dlq_show(request: Request) -> Response:
    """`GET /v1/dlq/{entry_id}`: one quarantined delivery with its kept headers and exact body."""
    _, letters = _dead_letters(request)
    entry_id: str = request.path_params["entry_id"]
    letter = await letters.get(entry_id)
    if letter is None:
        raise ErrorAnswer(404, "not_found", f"no dead letter {entry_id!r}")
    return json_response(200, letter.full())


class RedriveRequest(BaseModel):
    """`POST /v1/dlq/redrive`'s body. Without `ids` every entry not redriven yet is redriven: so a
    bulk redrive is asked for by leaving `ids` out, never by a null or a wrong type, which is refused."""

    model_config = ConfigDict(extra="forbid", strict=True)

    ids: Annotated[
        list[str] | None, not_null("null is not a list of entry ids: leave ids out to redrive every entry")
    ] = None
    delete: bool = False


ModelT = TypeVar("ModelT", bound=BaseModel)


def request_of(model: type[ModelT], body: bytes, expected: str) -> ModelT:
    """The body as `model`; 400 when it is not JSON, 422 naming each field the document forbids."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            raise ErrorAnswer(400, "invalid_json", f"the body is not JSON: {expected}") from None
        raise ErrorAnswer(422, "invalid_request", f"{expected}: {summarize_errors(exc)}") from None


async def dlq_redrive(request: Request) -> Response:
    """`POST /v1/dlq/redrive` with `{"ids": [...]?, "delete": bool?}`: no ids redrives every entry."""
    runtime, letters = _dead_letters(request)
    body = await read_body(request, 65536) or b"{}"
    asked = request_of(RedriveRequest, body, 'expected {"ids": [entry ids]?, "delete": bool?}')
    results = await letters.redrive(runtime.config, runtime.pipeline, asked.ids, asked.delete)
    return json_response(200, {"results": [dataclasses.asdict(result) for result in results]})


async def events_list(request: Request) -> Response:
    """`GET /v1/events?source=&provider=&status=&task_id=&limit=`: the newest events first (admin)."""
    runtime = require_admin(request)
    try:
        query = events_view.EventQuery.from_params(request.query_params)
    except events_view.InvalidQuery as exc:
        raise ErrorAnswer(400, exc.code, exc.message) from None
    found = await events_view.latest_events(runtime.redis, runtime.pipeline.publisher.keys, query)
    # The events as published, spliced in without being parsed and serialized again.
    return json_response(200, {"events": [orjson.Fragment(entry.raw) for entry in found]})
