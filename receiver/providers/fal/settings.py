"""The keys of a `provider = "fal"` source: apart from the package's declaration so that its
API client can take them without importing the declaration that names the client."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from receiver.sources import SourceConfig


class FalSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "fal"
    provider: Literal["fal"]
    api_base_url: str | None = "https://queue.fal.run"
    # The endpoint the requests were submitted to (`fal-ai/kling-video/v2/master/text-to-video`): the
    # queue's routes are under its app (`fal-ai/kling-video`), and nothing fal sends names it.
    model_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+$")

    @property
    def has_api_credentials(self) -> bool:
        return self.api_key is not None and self.model_id is not None

    def api_headers(self) -> dict[str, str]:
        if self.api_key is None:
            return {}
        return {"authorization": f"Key {self.api_key.get_secret_value()}"}
