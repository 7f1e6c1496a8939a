"""Signature forms a provider documents but the receiver cannot check: kept unproven, never refused.

A sender that signs some deliveries in a form no configured scheme verifies (Gemini's per-request
webhooks carry an RS256 JWT where its static ones carry Standard Webhooks `v1,` entries) would see a
401 and retry for a day, and an operator would see nothing. The provider's `unverifiable_signature`
recognises the form; the delivery is then kept whole in the dead-letter stream with reason
`unverified_signature` (never published, never redriven: receiver/services/dlq.py), and everything else goes
to the source's own scheme unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from receiver.foundation.errors import Quarantine
from receiver.verifiers.base import Signed, Verifier

UNVERIFIED_SIGNATURE = "unverified_signature"


class UnprovenForms(Verifier):
    """The source's verifier, preceded by the provider's test for forms it cannot check."""

    def __init__(self, inner: Verifier, unverifiable: Callable[[Mapping[str, str]], str | None]) -> None:
        self._inner = inner
        self._unverifiable = unverifiable

    def _screen(self, headers: Mapping[str, str]) -> None:
        detail = self._unverifiable(headers)
        if detail is not None:
            raise Quarantine(UNVERIFIED_SIGNATURE, detail)

    def check(self, headers: Mapping[str, str], body: bytes, token: str | None, now: float) -> str | None:
        self._screen(headers)
        return self._inner.check(headers, body, token, now)

    async def verify(
        self, headers: Mapping[str, str], body: bytes, token: str | None, now: float
    ) -> str | None:
        self._screen(headers)
        return await self._inner.verify(headers, body, token, now)

    def sign(self, body: bytes, now: float, delivery_id: str | None = None) -> Signed:
        return self._inner.sign(body, now, delivery_id)

    async def aclose(self) -> None:
        await self._inner.aclose()
