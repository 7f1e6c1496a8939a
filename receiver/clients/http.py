"""What every HTTP provider client shares: one bounded request, and its failures as `RemoteError`.

401, 403 and 404 cannot be helped by asking again (a wrong key, an unknown id); 408, 429 and 5xx,
timeouts, refused connections and a 200 whose body is not a JSON object are passing troubles, retried
by the caller, which waits at least the provider's `Retry-After` (seconds or an HTTP date) when given.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx
import orjson

from receiver.clients import RemoteError

RETRYABLE_STATUSES = frozenset({408, 425, 429})


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """`Retry-After` as seconds from `now`: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - now)


async def get_json_object(client: httpx.AsyncClient, url: str, what: str) -> bytes:
    """GET `url` and return its body, which must be a JSON object; every failure is a `RemoteError`."""
    try:
        response = await client.get(url)
    except httpx.TimeoutException as exc:
        raise RemoteError(f"{what}: no answer in time ({exc.__class__.__name__})", retryable=True) from None
    except httpx.HTTPError as exc:
        raise RemoteError(f"{what}: {exc.__class__.__name__}: {exc}", retryable=True) from None
    status = response.status_code
    if status != 200:
        retryable = status in RETRYABLE_STATUSES or status >= 500
        raise RemoteError(
            f"{what}: HTTP {status}{_reason(response)}",
            retryable=retryable,
            retry_after=retry_after_seconds(response.headers.get("retry-after"), time.time()),
        )
    try:
        parsed = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise RemoteError(f"{what}: HTTP 200 with a body that is not JSON", retryable=True) from None
    if not isinstance(parsed, dict):
        raise RemoteError(f"{what}: HTTP 200 with a body that is not a JSON object", retryable=True)
    return response.content


def _reason(response: httpx.Response) -> str:
    """The provider's own error message, when its body has one, cut short: it may echo the request."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return f" ({str(message)[:200]})" if message else ""
