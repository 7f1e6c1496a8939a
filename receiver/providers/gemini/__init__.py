"""Gemini API (Veo operations, Omni interactions): thin static webhooks, the task fetched after them.

Static project webhooks are Standard Webhooks; per-request ones (`webhook_config`) are signed with an
RS256 JWT the receiver does not verify: they are kept unproven (see `signature`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from receiver.providers.base import Provider
from receiver.providers.gemini.client import GeminiClient
from receiver.providers.gemini.signature import unverifiable_signature
from receiver.sources import SourceConfig
from schemas.gemini import SCHEMAS


class GeminiSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "standard-webhooks"
    provider: Literal["gemini"]
    api_base_url: str | None = "https://generativelanguage.googleapis.com"

    def api_headers(self) -> dict[str, str]:
        if self.api_key is None:
            return {}
        return {"x-goog-api-key": self.api_key.get_secret_value()}


PROVIDER = Provider(
    settings=GeminiSource,
    schemas=SCHEMAS,
    callbacks="thin",
    client=GeminiClient,
    unverifiable_signature=unverifiable_signature,
)
