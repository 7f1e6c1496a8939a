"""Authenticity checks on the raw request, before a single byte of the body is parsed.

Each scheme is a module with a class that both verifies (the receiver) and signs (replay and the
`sign` command, so that stored deliveries can be sent as the provider would). Every comparison is
constant time and every active secret is tried, so a secret can rotate without dropping a delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from receiver.config import SourceConfig


class Unauthentic(Exception):
    """The delivery is not proven authentic: answered 401 with `code`, and nothing is stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Signed:
    """What a sender adds to a delivery to make it authentic: headers and, for url-token, a path part."""

    headers: dict[str, str] = field(default_factory=dict)
    path_suffix: str = ""


class Verifier(Protocol):
    def verify(self, headers: Mapping[str, str], body: bytes, token: str | None, now: float) -> str | None:
        """Raise `Unauthentic`, or return the delivery id the scheme carries (None where it has none).

        `headers` must look names up case-insensitively (Starlette's `Headers` does); `token` is the
        last path segment of the callback URL, if any.
        """
        ...

    def sign(self, body: bytes, now: float, delivery_id: str | None = None) -> Signed:
        """Sign `body` with the current (first) secret, as the provider would at time `now`."""
        ...


def verifier_for(source: SourceConfig) -> Verifier:
    from receiver.verifiers.none import NoVerification
    from receiver.verifiers.standard_webhooks import StandardWebhooks
    from receiver.verifiers.twelvelabs import TwelveLabsSignature
    from receiver.verifiers.url_token import UrlToken

    secrets = source.secret_values()
    match source.verify:
        case "standard-webhooks":
            return StandardWebhooks(secrets, source.tolerance_seconds)
        case "twelvelabs":
            return TwelveLabsSignature(secrets, source.tolerance_seconds)
        case "url-token":
            return UrlToken(secrets)
        case _:
            return NoVerification()


def check_timestamp(timestamp: int, now: float, tolerance_seconds: int) -> None:
    """Too old and too far in the future are both refused: a future stamp extends a replay window."""
    if abs(now - timestamp) > tolerance_seconds:
        raise Unauthentic(
            "timestamp_out_of_tolerance",
            f"the signed timestamp is {int(now - timestamp)} s from the receiver's clock "
            f"(tolerance {tolerance_seconds} s)",
        )
