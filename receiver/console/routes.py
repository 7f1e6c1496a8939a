"""The console's HTTP side: pages, forms, and the headers that keep a hostile delivery inert.

Everything a page shows from a delivery goes through Jinja2's autoescaping (no template marks delivery
data safe), and the Content-Security-Policy allows scripts and styles from this origin only, so that
even markup that slipped through could run nothing. With no admin token configured, every console
path answers 404, as the admin API routes do.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader
from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Match, Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Message, Receive, Scope, Send

from receiver.console import views
from receiver.console.session import COOKIE, CSRF_FIELD, SESSION_SECONDS, Sessions, same_origin
from receiver.core.jobs import Job, JobQueue
from receiver.flow.poll import POLL
from receiver.foundation.errors import VideohooksError
from receiver.services.dlq import DeadLetters
from receiver.services.events_view import STATUSES, EventQuery, InvalidQuery, latest_events
from receiver.wiring.runtime import Runtime

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
# A console form holds a CSRF token and an id or two.
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 8


Page = Callable[[Request], Awaitable[Response]]


class PageRefused(VideohooksError):
    """A refused console request, answered in plain text by `ConsoleApp` (not the API's JSON errors:
    hence not an `ErrorAnswer`, whose handler the app registers for every route, the console's too)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _ms_time(millis: int | float | None) -> str:
    if millis is None:
        return "—"
    return datetime.fromtimestamp(millis / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _seconds_time(seconds: Any) -> str:
    return _ms_time(seconds * 1000) if isinstance(seconds, int | float) else "—"


def _path_part(value: Any) -> str:
    """A value as one path segment: `/` and everything else outside the unreserved set escaped."""
    return quote(str(value), safe="")


_environment = Environment(loader=PackageLoader("receiver.console", "templates"), autoescape=True)
_environment.filters["ms_time"] = _ms_time
_environment.filters["seconds_time"] = _seconds_time
_environment.filters["path_part"] = _path_part
templates = Jinja2Templates(env=_environment)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _sessions(request: Request) -> Sessions:
    token = _runtime(request).config.admin.token
    assert token is not None  # ConsoleApp answers 404 before any route runs without one
    return Sessions(token.get_secret_value())


def _session_id(request: Request) -> str | None:
    return _sessions(request).session_id(request.cookies.get(COOKIE))


def _base(request: Request) -> str:
    """Where the console is mounted (`/console`), for links."""
    return str(request.scope.get("root_path", ""))


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    session_id = _session_id(request)
    csrf = _sessions(request).csrf_token(session_id) if session_id else ""
    return templates.TemplateResponse(
        request,
        name,
        {
            "base": _base(request),
            "csrf": csrf,
            "csrf_field": CSRF_FIELD,
            "signed_in": bool(session_id),
            **context,
        },
        status_code=status_code,
    )


def _to_login(request: Request) -> Response:
    return RedirectResponse(f"{_base(request)}/login", status_code=303)


def signed_in(page: Page) -> Page:
    """A page for a signed-in operator: anyone else is sent to the sign-in page first."""

    @functools.wraps(page)
    async def guarded(request: Request) -> Response:
        if not _session_id(request):
            return _to_login(request)
        return await page(request)

    return guarded


async def _form(request: Request) -> FormData:
    """The POSTed form of a page of this origin (else 403), small (else 413), with no files."""
    if not same_origin(request):
        raise PageRefused(403, "cross-origin request refused")
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
        raise PageRefused(413, f"a console form is at most {MAX_FORM_BYTES} bytes, its length declared")
    return await request.form(max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_BYTES)


async def _checked_form(request: Request) -> FormData:
    """The form of a POST from a signed-in page of this origin with its session's CSRF token; else 403."""
    form = await _form(request)
    session_id = _session_id(request)
    if session_id is None:
        raise PageRefused(403, "not signed in")
    presented = form.get(CSRF_FIELD)
    if not isinstance(presented, str) or not _sessions(request).csrf_valid(session_id, presented):
        raise PageRefused(403, "missing or wrong CSRF token")
    return form


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not value:
        raise PageRefused(400, f"the form has no {name}")
    return value


async def login_page(request: Request) -> Response:
    if _session_id(request):
        return RedirectResponse(f"{_base(request)}/", status_code=303)
    return render(request, "login.html", {"error": None})


async def login(request: Request) -> Response:
    form = await _form(request)
    token = form.get("token")
    sessions = _sessions(request)
    if not isinstance(token, str) or not sessions.is_admin_token(token):
        return render(request, "login.html", {"error": "That is not the admin token."}, status_code=401)
    response = RedirectResponse(f"{_base(request)}/", status_code=303)
    response.set_cookie(
        COOKIE,
        sessions.issue(),
        max_age=SESSION_SECONDS,
        path="/console",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def logout(request: Request) -> Response:
    await _checked_form(request)
    response = RedirectResponse(f"{_base(request)}/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
    return response


@signed_in
async def overview_page(request: Request) -> Response:
    runtime = _runtime(request)
    found = await views.overview(runtime.redis, runtime.pipeline.publisher.keys, runtime.config, time.time())
    return render(
        request, "overview.html", {"overview": found, "scan": views.OVERVIEW_SCAN, "dlq_scan": views.DLQ_SCAN}
    )


async def _events_context(request: Request) -> dict[str, Any]:
    runtime = _runtime(request)
    params = request.query_params
    try:
        query = EventQuery.from_params(params)
        error = None
    except InvalidQuery as exc:
        query, error = EventQuery(), exc.message
    found = await latest_events(runtime.redis, runtime.pipeline.publisher.keys, query)
    return {
        "events": found,
        "query": query,
        "error": error,
        "statuses": STATUSES,
        "sources": [source.id for source in runtime.config.sources],
        "query_string": str(request.url.query),
    }


@signed_in
async def events_page(request: Request) -> Response:
    return render(request, "events.html", await _events_context(request))


async def event_rows(request: Request) -> Response:
    """The events table's rows alone, which the page's script swaps in every few seconds."""
    if not _session_id(request):
        raise PageRefused(401, "not signed in")
    return render(request, "_event_rows.html", await _events_context(request))


@signed_in
async def task_page(request: Request) -> Response:
    runtime = _runtime(request)
    timeline = await views.task_timeline(
        runtime.redis,
        runtime.pipeline.publisher.keys,
        runtime.config.redis.prefix,
        request.path_params["source"],
        request.path_params["task_id"],
    )
    known = bool(timeline.steps) or timeline.watch is not None
    return render(request, "task.html", {"timeline": timeline}, status_code=200 if known else 404)


def _letters(request: Request) -> DeadLetters:
    runtime = _runtime(request)
    return DeadLetters(runtime.redis, runtime.pipeline.publisher.keys)


@signed_in
async def dlq_page(request: Request) -> Response:
    runtime = _runtime(request)
    source = request.query_params.get("source") or None
    reason = request.query_params.get("reason") or None
    every = await views.dead_letters(runtime.redis, runtime.pipeline.publisher.keys, source, None)
    shown = [view for view in every if reason is None or view.letter.reason == reason]
    return render(
        request,
        "dlq.html",
        {
            "letters": shown,
            "reasons": views.reason_counts(every),
            "source": source,
            "reason": reason,
            "scan": views.DLQ_SCAN,
        },
    )


@signed_in
async def dlq_entry_page(request: Request) -> Response:
    letter = await _letters(request).get(request.path_params["entry_id"])
    if letter is None:
        return render(request, "dlq_entry.html", {"view": None}, status_code=404)
    return render(request, "dlq_entry.html", {"view": views.LetterView.of(letter)})


async def redrive_one(request: Request) -> Response:
    form = await _checked_form(request)
    return await _redrive(request, [_field(form, "entry_id")], None)


async def redrive_reason(request: Request) -> Response:
    form = await _checked_form(request)
    reason = _field(form, "reason")
    runtime = _runtime(request)
    ids = await views.pending_ids_of_reason(runtime.redis, runtime.pipeline.publisher.keys, reason)
    return await _redrive(request, ids, reason)


async def _redrive(request: Request, ids: list[str], reason: str | None) -> Response:
    runtime = _runtime(request)
    results = await _letters(request).redrive(runtime.config, runtime.pipeline, ids, delete=False)
    return render(request, "redrive.html", {"results": results, "reason": reason})


# The most watched tasks the watched page lists.
WATCHED_SHOWN = 500


@signed_in
async def watched_page(request: Request) -> Response:
    runtime = _runtime(request)
    now = time.time()
    # A page shows a bounded number: a deployment may watch a hundred thousand tasks.
    jobs: list[Job] = []
    total = 0
    async for job in JobQueue(runtime.redis, runtime.config.redis.prefix).scan(POLL):
        total += 1
        if len(jobs) < WATCHED_SHOWN:
            jobs.append(job)
    rows = sorted(
        ((job, views.is_overdue(job, runtime.config, now)) for job in jobs),
        key=lambda row: (not row[1], str(row[0].payload.get("source")), str(row[0].payload.get("task_id"))),
    )
    return render(request, "watched.html", {"rows": rows, "total": total})


@signed_in
async def usage_page(request: Request) -> Response:
    runtime = _runtime(request)
    rows, scanned = await views.recent_usage(runtime.redis, runtime.pipeline.publisher.keys)
    return render(
        request,
        "usage.html",
        {"chart": views.bar_chart(rows), "rows": rows, "scanned": scanned, "scan": views.USAGE_SCAN},
    )


class ConsoleApp:
    """The console as one ASGI app: 404 without an admin token, the security headers on every answer.

    It is mounted as an app rather than as routes: the console is a browser UI, not part of the HTTP
    API that the OpenAPI document describes.
    """

    def __init__(self) -> None:
        static = Path(__file__).parent / "static"
        self._router = Router(
            routes=[
                Route("/", overview_page, methods=["GET"]),
                Route("/login", login_page, methods=["GET"]),
                Route("/login", login, methods=["POST"]),
                Route("/logout", logout, methods=["POST"]),
                Route("/events", events_page, methods=["GET"]),
                Route("/events/rows", event_rows, methods=["GET"]),
                Route("/tasks/{source}/{task_id:path}", task_page, methods=["GET"]),
                Route("/dlq", dlq_page, methods=["GET"]),
                Route("/dlq/redrive", redrive_one, methods=["POST"]),
                Route("/dlq/redrive-reason", redrive_reason, methods=["POST"]),
                Route("/dlq/{entry_id}", dlq_entry_page, methods=["GET"]),
                Route("/watched", watched_page, methods=["GET"]),
                Route("/usage", usage_page, methods=["GET"]),
                Mount("/static", StaticFiles(directory=static), name="static"),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime: Runtime = scope["app"].state.runtime
        if runtime.config.admin.token is None:
            raise HTTPException(404)

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        try:
            await self._router(scope, receive, send_secured)
        except PageRefused as refused:
            await PlainTextResponse(refused.message, refused.status)(scope, receive, send_secured)
        except HTTPException as missing:  # no console route: the router's 404, with the console's headers
            await PlainTextResponse(missing.detail, missing.status_code)(scope, receive, send_secured)


class ConsoleMount(Mount):
    """A Mount that takes `/console` itself too (the console sends it on to `/console/`), so that without
    an admin token it answers 404 like every path below it rather than the app's slash redirect."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        root_path = scope.get("root_path", "")
        if scope["type"] == "http" and scope["path"] == root_path + self.path:
            return Match.FULL, {
                "path_params": dict(scope.get("path_params", {})),
                "app_root_path": scope.get("app_root_path", root_path),
                "root_path": root_path + self.path,
                "endpoint": self.app,
            }
        return super().matches(scope)


def console_mount() -> Mount:
    """The route app.py adds: `/console` and everything below it."""
    return ConsoleMount("/console", app=ConsoleApp())
