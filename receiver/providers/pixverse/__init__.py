"""PixVerse Platform API: signed webhooks (`verify = "pixverse"`), and the status API for watches.

PixVerse signs a form-encoded copy of the body's fields (receiver/verifiers/pixverse.py), so a verified
webhook is published as sent; nothing is fetched. PixVerse retries any answer but 200 with the body
`ok` for hours (8 retries, up to 4 h apart): every 2xx outcome is answered exactly that, the outcome
in the `Videohooks-Outcome` header. With `api_key` a non-final webhook starts its task's watch, and a
lost final one is reconciled from `GET /openapi/v2/video/result/{id}` (`API-KEY`, and a fresh
`Ai-trace-id` on every request).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from receiver.providers.base import Provider
from receiver.providers.pixverse.client import PixverseClient
from receiver.sources import SourceConfig
from schemas.pixverse import SCHEMAS


class PixverseSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "pixverse"
    provider: Literal["pixverse"]
    api_base_url: str | None = "https://app-api.pixverse.ai"

    def api_headers(self) -> dict[str, str]:
        """PixVerse takes its key in `API-KEY`, not as a Bearer token."""
        if self.api_key is None:
            return {}
        return {"api-key": self.api_key.get_secret_value()}


PROVIDER = Provider(
    settings=PixverseSource,
    schemas=SCHEMAS,
    callbacks="full",
    client=PixverseClient,
    success_status=200,
    acknowledgement=b"ok",
)
