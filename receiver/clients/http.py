"""Plain-HTTP provider APIs: one client per source, and one GET of a JSON document.

Shared by the clients that speak plain HTTP, so that they agree on what is worth retrying: 401, 403
and 404 will not change by asking again; 429, 5xx, timeouts, dropped connections and a body that is
not JSON (a proxy's error page, a cut-off response) may. A `Retry-After` in seconds or as an HTTP
date is passed on, so that the job queue waits as long as the provider asked.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from receiver.foundation.errors import RemoteError
from receiver.sources import SourceConfig

FINAL_STATUSES = frozenset({401, 403, 404})
CONNECT_TIMEOUT_SECONDS = 5.0


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: either form the HTTP spec allows, never negative."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


@contextmanager
def http_errors(what: str) -> Iterator[None]:
    """A timeout or a transport failure of one request is a retryable `RemoteError` naming `what`."""
    try:
        yield
    except httpx.TimeoutException:
        raise RemoteError(f"{what}: the request timed out", retryable=True) from None
    except httpx.TransportError as exc:
        raise RemoteError(f"{what}: {exc.__class__.__name__}: {exc}", retryable=True) from None


class _MappedStream(httpx.AsyncByteStream):
    """A response body whose read fails, like its request, with a `RemoteError`."""

    def __init__(self, inner: httpx.AsyncByteStream, what: str) -> None:
        self._inner = inner
        self._what = what

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with http_errors(self._what):
            async for chunk in self._inner:
                yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class MappedTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, with its failures mapped into the error tree in this one place.

    Every provider API client goes through it: a request names what it asks for in its `what`
    extension (else its method and path), and the `RemoteError` names it, as httpx maps its own
    transport's exceptions once.
    """

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        what = str(request.extensions.get("what") or f"{request.method} {request.url.path}")
        with http_errors(what):
            response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _MappedStream(response.stream, what)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def timeout(source: SourceConfig) -> httpx.Timeout:
    """The source's `api_timeout_seconds` for a whole request, connecting within at most five seconds."""
    return httpx.Timeout(
        source.api_timeout_seconds, connect=min(source.api_timeout_seconds, CONNECT_TIMEOUT_SECONDS)
    )


# Headers made for each request: a signature over it, a token that expires, a fresh trace id.
PerRequest = Callable[[httpx.Request], Awaitable[Mapping[str, str]]]


class _PerRequestHeaders(httpx.Auth):
    """The one way a provider's client adds what must be made for each request, not once per client."""

    requires_request_body = True  # a signature covers the body: read before `make` sees the request

    def __init__(self, make: PerRequest) -> None:
        self._make = make

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers.update(await self._make(request))
        yield request


def api_client(source: SourceConfig, per_request: PerRequest | None = None) -> httpx.AsyncClient:
    """An httpx client for the source's API: its base URL, its credentials (`api_headers` once, or
    `per_request`'s headers on every request instead), its timeout, and no redirects (an API that
    moves is an error to see)."""
    return httpx.AsyncClient(
        base_url=source.api_base_url or "",
        headers={"accept": "application/json", **(source.api_headers() if per_request is None else {})},
        auth=None if per_request is None else _PerRequestHeaders(per_request),
        timeout=timeout(source),
        follow_redirects=False,
        transport=MappedTransport(),
    )


def remote_status_error(response: httpx.Response, what: str) -> RemoteError:
    retryable = response.status_code not in FINAL_STATUSES and (
        response.status_code == 429 or response.status_code >= 500
    )
    return RemoteError(
        f"{what}: HTTP {response.status_code}",
        retryable=retryable,
        retry_after=retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC)),
        status=response.status_code,
    )


async def _get(client: httpx.AsyncClient, url: str, what: str) -> bytes:
    """The body of `GET url`, or `RemoteError` for any status but 200."""
    response = await client.get(url, extensions={"what": what})
    if response.status_code != 200:
        raise remote_status_error(response, what)
    return response.content


def _parsed(content: bytes, what: str) -> Any:
    """An answer's JSON; anything else is retryable (a proxy's page, a cut-off answer)."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise RemoteError(f"{what}: the response is not JSON ({exc})", retryable=True) from None


async def get_json(client: httpx.AsyncClient, url: str, what: str) -> bytes:
    """The body of `GET url`, checked to be JSON; `what` names the resource in error messages."""
    content = await _get(client, url, what)
    _parsed(content, what)
    return content


async def get_json_value(client: httpx.AsyncClient, url: str, what: str) -> Any:
    """`GET url`'s JSON, parsed once, for a caller that keeps the value rather than the bytes."""
    return _parsed(await _get(client, url, what), what)


async def get_json_object(client: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
    """`GET url`'s JSON, parsed once, for APIs whose answer must be one JSON object."""
    return json_object(await _get(client, url, what), what)


def json_object(content: bytes, what: str) -> dict[str, Any]:
    """An answer that must be one JSON object, parsed; anything else is retryable (a proxy's page, a
    cut-off answer)."""
    document = _parsed(content, what)
    if not isinstance(document, dict):
        raise RemoteError(f"{what}: the answer is not a JSON object", retryable=True)
    return document


async def get_coded(
    client: httpx.AsyncClient,
    url: str,
    what: str,
    fields: tuple[str, str],
    label: str,
    code_status: Callable[[int], int | None],
) -> bytes:
    """The body of `GET url` from an API whose JSON answer carries an error code of its own (0: none)
    beside the HTTP status, as Kling's `code` and PixVerse's `ErrCode` do.

    `fields` names the answer's code and message; a code other than 0 is a `RemoteError` whatever the
    HTTP status, with the HTTP status `code_status` gives it (else the answer's own, unless 200: a code
    nothing maps may pass on another try). `label` names the code in the message ("Kling code").
    """
    response = await client.get(url, extensions={"what": what})
    try:
        answer = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        answer = None
    code_field, message_field = fields
    code = answer.get(code_field) if isinstance(answer, dict) else None
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        assert isinstance(answer, dict)
        status = code_status(code) or (response.status_code if response.status_code != 200 else None)
        raise RemoteError(
            f"{what}: {label} {code}: {answer.get(message_field)}",
            retryable=status is None or status == 429 or status >= 500,
            retry_after=retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC)),
            status=status,
        )
    if response.status_code != 200:
        raise remote_status_error(response, what)
    if answer is None:
        raise RemoteError(f"{what}: the response is not JSON", retryable=True)
    return response.content
