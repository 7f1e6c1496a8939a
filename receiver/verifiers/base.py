"""What a signature scheme is: a verifier for the receiver, a signer for replay, and its declaration.

Each scheme is one module in this package with a `Verifier` subclass and a `Scheme` that declares it
(its name in the config, which headers carry credentials, whether it proves the body), registered once
in `receiver/verifiers/__init__.py`. Every comparison is constant time and every active secret is
tried, so a secret can rotate without dropping a delivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from receiver.foundation.errors import Unauthentic
from receiver.sources import SourceConfig

# Bodies above this are checked in a worker thread (bench/README.md, "Head-of-line").
THREADED_CHECK_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Signed:
    """What a sender adds to a delivery to make it authentic: headers and, for url-token, a path part."""

    headers: dict[str, str] = field(default_factory=dict)
    path_suffix: str = ""


class Verifier:
    """A scheme's check of one delivery; `check` is pure, `verify` may first fetch keys (fal's JWKS)."""

    def check(self, headers: Mapping[str, str], body: bytes, token: str | None, now: float) -> str | None:
        """Raise `Unauthentic`, or return the delivery id the scheme carries (None where it has none).

        `headers` must look names up case-insensitively (Starlette's `Headers` does); `token` is the
        last path segment of the callback URL, if any.
        """
        raise NotImplementedError

    async def verify(
        self, headers: Mapping[str, str], body: bytes, token: str | None, now: float
    ) -> str | None:
        if len(body) > THREADED_CHECK_BYTES:
            # Hashing megabytes holds the event loop for milliseconds; hashlib releases the GIL while
            # it hashes, so in a thread small deliveries go on meanwhile.
            return await asyncio.to_thread(self.check, headers, body, token, now)
        return self.check(headers, body, token, now)

    def sign(self, body: bytes, now: float, delivery_id: str | None = None) -> Signed:
        """Sign `body` with the current (first) secret, as the provider would at time `now`."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what the verifier holds open (an HTTP client for a key set); most hold nothing."""


@dataclass(frozen=True, slots=True)
class Scheme:
    """A signature scheme as the config names it."""

    name: str
    build: Callable[[SourceConfig], Verifier]
    # Headers that carry signatures or credentials: never kept with a dead letter, since a redrive
    # publishes without verifying again and a misconfigured sender may paste its secret into one.
    credential_headers: frozenset[str] = frozenset()
    # Whether a verified delivery's body is proven to be the provider's (a signature covers it). A URL
    # token proves only that the sender knows the URL: such a body is a notification, not a fact.
    proves_body: bool = True
    # Whether the credential is the last segment of the callback URL (`/v1/callbacks/{source}/{token}`).
    token_in_path: bool = False
    # Whether the scheme needs `secrets`, and how each is checked at start-up (raise ValueError).
    needs_secrets: bool = True
    check_secret: Callable[[str], object] | None = None
    # Source keys only this scheme uses (fal's `jwks_url`): refused on a source with another scheme.
    source_keys: frozenset[str] = frozenset()

    def check(self, source: SourceConfig) -> None:
        """Refuse at start-up a source whose secrets this scheme cannot use."""
        if self.needs_secrets and not source.secrets:
            raise ValueError(f"verify = {self.name!r} needs at least one entry in secrets")
        if self.check_secret is not None:
            for secret in source.secret_values():
                self.check_secret(secret)


def check_timestamp(timestamp: int, now: float, tolerance_seconds: int) -> None:
    """Too old and too far in the future are both refused: a future stamp extends a replay window."""
    if abs(now - timestamp) > tolerance_seconds:
        raise Unauthentic(
            "timestamp_out_of_tolerance",
            f"the signed timestamp is {int(now - timestamp)} s from the receiver's clock "
            f"(tolerance {tolerance_seconds} s)",
        )
