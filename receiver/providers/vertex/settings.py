"""The settings of a `vertex` source: the keys only it has, checked without contacting anyone."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import Field, field_validator, model_validator

from receiver.sources import SourceConfig, http_url

MULTI_REGIONS = frozenset({"us", "eu"})
# The `type`s of Google credentials JSON a `credentials_file` may hold, each loaded by its own class.
CREDENTIALS_FILE_TYPES = ("service_account", "authorized_user")


def default_api_base_url(location: str) -> str:
    """The endpoint google-genai derives from the location: global, multi-regional, or regional."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if location in MULTI_REGIONS:
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


class VertexSource(SourceConfig):
    provider: Literal["vertex"]
    project: str = Field(pattern=r"^[a-z0-9.:-]{1,100}$")
    location: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    # A Google credentials JSON (service account key, ...); None: Application Default Credentials.
    credentials_file: str | None = None
    # gs://bucket/prefix: the only place assets are copied from, when set.
    output_uri: str | None = Field(default=None, pattern=r"^gs://[^/]+(/.*)?$")
    # Cloud Storage reads go to this base URL (an emulator, a private endpoint) instead of Google's.
    storage_base_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _endpoint_of_location(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and data.get("api_base_url") is None
            and isinstance(data.get("location"), str)
        ):
            return {**data, "api_base_url": default_api_base_url(data["location"])}
        return data

    @field_validator("credentials_file")
    @classmethod
    def _a_json_object(cls, path: str | None) -> str | None:
        """Checked at load (and by `check-config`) without contacting anyone: the file is there and
        holds a JSON object of a type that is loaded; whether Google accepts it is learnt at the first
        poll."""
        if path is None:
            return None
        try:
            document = orjson.loads(Path(path).read_bytes())
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{path} is not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ValueError(f"{path} holds no JSON object (a Google credentials file is one)")
        if document.get("type") not in CREDENTIALS_FILE_TYPES:
            raise ValueError(
                f"{path} holds credentials of type {document.get('type')!r}; a credentials_file holds "
                f"one of {', '.join(CREDENTIALS_FILE_TYPES)} (other identities: leave it out and use "
                "Application Default Credentials)"
            )
        return path

    @field_validator("storage_base_url")
    @classmethod
    def _endpoint(cls, url: str | None) -> str | None:
        return http_url(url)

    @model_validator(mode="after")
    def _one_identity(self) -> VertexSource:
        if self.api_key is not None and self.credentials_file is not None:
            raise ValueError("set api_key (express mode) or credentials_file, not both")
        return self

    @property
    def has_api_credentials(self) -> bool:
        """Always: without a file or key, Application Default Credentials are asked at the first poll."""
        return True

    def api_headers(self) -> dict[str, str]:
        """An express-mode key; OAuth2 tokens are added per request by the client."""
        if self.api_key is None:
            return {}
        return {"x-goog-api-key": self.api_key.get_secret_value()}
