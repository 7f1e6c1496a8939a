"""Every error the receiver raises on purpose, and the one place library failures are mapped into them.

    VideohooksError
    ├── ConfigError        the configuration cannot be used: refused at start-up, naming each bad key
    ├── ErrorAnswer        a request is answered early with an HTTP status, an error code and a message
    │   └── Unauthentic    not proven authentic (401); nothing is stored
    ├── Unavailable        something the receiver depends on is out: the caller retries (503)
    │   ├── RedisUnavailable   Redis did not answer (a write was not confirmed: nothing was kept)
    │   │   └── RedisRefused   Redis answered with an error reply
    │   └── StoreUnavailable   the asset store could not be written
    ├── RemoteError        a provider's API did not return what was asked, retryable or not
    ├── Quarantine         authentic, but no schema version accepts it: kept in the dead-letter stream
    └── CannotSign         a replay asked for a signature only the provider can make (fal's private key)

Redis and its cluster client fail with exceptions from three trees (redis-py's `RedisError`, the
cluster client's `RedisClusterException`, and `OSError` from the socket): the clients the receiver builds
(receiver/foundation/redis_clients.py) raise `redis_unavailable` instead, so that every path (callback,
fetch, poll, watch, DLQ, redrive, doctor) fails the same way, and the HTTP app has one handler per
branch. httpx's failures are mapped in the transport every provider client uses (receiver/clients/http.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from redis.exceptions import RedisClusterException, RedisError, ResponseError

# What a Redis client can fail with; mapped once, by receiver/foundation/redis_clients.py.
REDIS_FAILURES = (RedisError, RedisClusterException, OSError)

# Seconds a sender is asked to wait before retrying after a 503.
RETRY_AFTER_SECONDS = 5


class VideohooksError(Exception):
    """The root: an error the receiver raises deliberately, never a bug."""


class ConfigError(VideohooksError):
    """The configuration cannot be used; the message names the file, each bad key and its problem."""


class ErrorAnswer(VideohooksError):
    """An answer that ends a request early: HTTP status, error code, readable message."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class Unauthentic(ErrorAnswer):
    """The delivery is not proven authentic: answered 401 with `code`, and nothing is stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(401, code, message)


class Unavailable(VideohooksError):
    """An outage, not a bug: something the receiver depends on did not answer. Answered 503 with
    `Retry-After` on a request; a job retries quietly until its deadline."""


class RedisUnavailable(Unavailable):
    """The write could not be confirmed durable: the provider must retry (503)."""


class RedisRefused(RedisUnavailable):
    """Redis answered the command with an error reply: `reply` ("NOGROUP ...", "OOM ...", "READONLY ...").
    A caller that expects a particular reply handles it; any other is an outage like the rest."""

    def __init__(self, message: str, reply: str) -> None:
        super().__init__(message)
        self.reply = reply


class ArchiveUnavailable(Unavailable):
    """The retention archive could not be written or read: nothing is trimmed until it can be."""


class StoreUnavailable(Unavailable):
    """The asset store could not be written (media a delivery carries inline): retry later (503)."""


class RemoteError(VideohooksError):
    """The provider's API did not return the resource.

    `retryable` is False when asking again cannot help (401, 403, 404, a malformed request);
    `retry_after` is the provider's own `Retry-After` in seconds, when it gave one; `status` is the
    HTTP status when there was an answer.
    """

    def __init__(
        self, message: str, *, retryable: bool, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class Quarantine(VideohooksError):
    """Authentic, but not an event any schema version accepts: kept whole in the dead-letter stream.

    `kept_body` replaces the body in the dead letter where the body must not be kept as it came
    (inline media, whose bytes never go into Redis).
    """

    def __init__(self, reason: str, detail: str, *, kept_body: bytes | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.kept_body = kept_body


class CannotSign(VideohooksError):
    """A scheme whose signatures only the provider can make: its deliveries cannot be re-signed for replay."""


def unavailable(message: str) -> ErrorAnswer:
    """503 with `Retry-After`: nothing could be stored, and the caller should try again later."""
    return ErrorAnswer(503, "unavailable", message, {"retry-after": str(RETRY_AFTER_SECONDS)})


# An error reply, from a client of the receiver's (`RedisRefused`) or one a consumer built itself.
REDIS_REFUSALS = (RedisRefused, ResponseError)


def error_reply(exc: RedisRefused | ResponseError) -> str:
    """The error Redis replied with ("NOGROUP ...")."""
    return exc.reply if isinstance(exc, RedisRefused) else str(exc)


def redis_unavailable(command: object, exc: BaseException) -> RedisUnavailable:
    """The receiver's error for a Redis client failure on `command`; `RedisRefused` for an error reply.

    The message names the command and the failure's class only: it reaches senders in the 503, where
    the client's own text (hosts, ports) has no place; the original stays the `__cause__`.
    """
    name = command.decode(errors="replace") if isinstance(command, bytes) else str(command)
    message = f"redis did not answer {name}: {exc.__class__.__name__}"
    if isinstance(exc, ResponseError):
        return RedisRefused(message, str(exc))
    return RedisUnavailable(message)
