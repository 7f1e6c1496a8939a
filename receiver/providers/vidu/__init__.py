"""Vidu (ShengShu) `/ent/v2`: callbacks signed over the request line, not the body: notifications.

Vidu signs each callback with the API key the task was created with (`verify = "vidu"`,
receiver/verifiers/vidu.py), but the signature covers the method, path, query, `Date` and a nonce,
not the body: a captured signature replays with any body inside the `Date` window. A verified
callback is therefore only a notification (the scheme does not prove the body): its task id is read,
it is answered 202 `accepted` once the fetch job is stored, and what
`GET {api_base_url}/ent/v2/tasks/{id}/creations` (`Authorization: Token <api_key>`) says is published.
A body that claims `success` while the API says `processing` publishes `running`; no URL from a body
is ever published. `api_key` is required: without it nothing could be confirmed.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from receiver.providers.base import Provider
from receiver.providers.vidu.client import ViduClient
from receiver.sources import SourceConfig
from schemas.vidu import SCHEMAS


class ViduSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "vidu"
    provider: Literal["vidu"]
    # Mainland China: https://api.vidu.cn
    api_base_url: str | None = "https://api.vidu.com"

    @model_validator(mode="after")
    def _needs_api_key(self) -> ViduSource:
        self.require("api_key")
        return self

    def api_headers(self) -> dict[str, str]:
        """Vidu takes `Authorization: Token <key>`, not Bearer."""
        if self.api_key is None:
            return {}
        return {"authorization": f"Token {self.api_key.get_secret_value()}"}


PROVIDER = Provider(settings=ViduSource, schemas=SCHEMAS, callbacks="thin", client=ViduClient)
