"""One GET of a JSON document over httpx, with every way it can fail turned into a `RemoteError`.

Shared by the clients that speak plain HTTP, so that they agree on what is worth retrying: 401, 403
and 404 will not change by asking again; 429, 5xx, timeouts, dropped connections and a body that is
not JSON (a proxy's error page, a cut-off response) may. A `Retry-After` in seconds or as an HTTP
date is passed on, so that the job queue waits as long as the provider asked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import orjson

from receiver.clients.base import RemoteError

FINAL_STATUSES = frozenset({401, 403, 404})


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


async def get_json(client: httpx.AsyncClient, url: str, what: str) -> bytes:
    """The body of `GET url`, checked to be JSON; `what` names the resource in error messages."""
    try:
        response = await client.get(url)
    except httpx.TimeoutException:
        raise RemoteError(f"{what}: the request timed out", retryable=True) from None
    except httpx.TransportError as exc:
        raise RemoteError(f"{what}: {exc.__class__.__name__}: {exc}", retryable=True) from None
    if response.status_code != 200:
        retryable = response.status_code not in FINAL_STATUSES and (
            response.status_code == 429 or response.status_code >= 500
        )
        raise RemoteError(
            f"{what}: HTTP {response.status_code}",
            retryable=retryable,
            retry_after=retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC)),
        )
    try:
        orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise RemoteError(f"{what}: the response is not JSON ({exc})", retryable=True) from None
    return response.content
