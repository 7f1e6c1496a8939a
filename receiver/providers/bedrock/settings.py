"""The settings of a `bedrock` source: the keys only it has, checked without contacting anyone."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from receiver.foundation.settings import Secret
from receiver.sources import SourceConfig, http_url


class BedrockSource(SourceConfig):
    provider: Literal["bedrock"]
    # The SigV4 region, and the default endpoint's.
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z0-9]+){2,3}$")
    access_key_id: Secret | None = None
    secret_access_key: Secret | None = None
    session_token: Secret | None = None
    # A shared-config profile for the standard chain (no explicit keys).
    profile: str | None = Field(default=None, min_length=1)
    # s3://bucket/prefix: the only place assets are copied from, when set.
    output_uri: str | None = Field(default=None, pattern=r"^s3://[^/]+(/.*)?$")
    # Asset reads go to this S3 endpoint (an S3-compatible server, an emulator) instead of AWS's.
    s3_endpoint: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _endpoint_of_region(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and data.get("api_base_url") is None
            and isinstance(data.get("region"), str)
        ):
            return {**data, "api_base_url": f"https://bedrock-runtime.{data['region']}.amazonaws.com"}
        return data

    @field_validator("s3_endpoint")
    @classmethod
    def _endpoint(cls, url: str | None) -> str | None:
        return http_url(url)

    @model_validator(mode="after")
    def _one_identity(self) -> BedrockSource:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("access_key_id and secret_access_key are set together, or neither")
        if self.session_token is not None and self.access_key_id is None:
            raise ValueError("session_token goes with access_key_id and secret_access_key")
        if self.profile is not None and self.access_key_id is not None:
            raise ValueError("profile selects credentials from the standard chain: not with explicit keys")
        if self.api_key is not None and (self.access_key_id is not None or self.profile is not None):
            raise ValueError("set api_key (a Bedrock API key) or AWS credentials, not both")
        return self

    @property
    def has_api_credentials(self) -> bool:
        """Always: without keys, the standard AWS chain is asked when the first request is signed."""
        return True
