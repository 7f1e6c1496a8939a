"""The keys of a `provider = "kling"` source: apart from the package's declaration so that its
API client can take them without importing the declaration that names the client."""

from __future__ import annotations

import time
from typing import ClassVar, Literal

import jwt
from pydantic import Field, model_validator

from receiver.foundation.settings import Secret
from receiver.sources import SourceConfig

# Kling's own examples: valid for 30 minutes, and from 5 s ago against a clock slightly ahead of ours.
TOKEN_LIFETIME_SECONDS = 1800
TOKEN_LEEWAY_SECONDS = 5


def api_token(access_key: str, secret_key: str, now: float) -> str:
    """The Bearer token Kling's API takes: a JWT (HS256) issued by the access key, signed with the secret."""
    issued = int(now)
    claims = {"iss": access_key, "exp": issued + TOKEN_LIFETIME_SECONDS, "nbf": issued - TOKEN_LEEWAY_SECONDS}
    return jwt.encode(claims, secret_key, algorithm="HS256")


class KlingSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "url-token"
    provider: Literal["kling"]
    api_base_url: str | None = "https://api-singapore.klingai.com"
    access_key: Secret | None = None
    secret_key: Secret | None = None
    # Where this source's tasks are queried below /v1/: the callback does not name its endpoint.
    task_path: str = Field(default="videos/text2video", pattern=r"^[a-z0-9-]+(/[a-z0-9-]+)+$")

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> KlingSource:
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError(
                "access_key and secret_key are set together (Kling signs its API tokens with both)"
            )
        if self.access_key is not None and self.api_key is not None:
            raise ValueError(
                "set access_key and secret_key (Kling's own API) or api_key (a relay's Bearer key), not both"
            )
        return self

    @property
    def has_api_credentials(self) -> bool:
        return self.api_key is not None or self.access_key is not None

    def api_headers(self) -> dict[str, str]:
        """A fresh token on every call: Kling's expire after half an hour."""
        if self.access_key is None or self.secret_key is None:
            return super().api_headers()
        token = api_token(self.access_key.get_secret_value(), self.secret_key.get_secret_value(), time.time())
        return {"authorization": f"Bearer {token}"}
