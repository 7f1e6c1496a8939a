"""`[assets]`: where copies go and how far the copier may reach; `[events]`: the version published."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from receiver.foundation.settings import Secret

GIB = 1024**3

StoreKind = Literal["local", "s3"]


class AssetsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A directory (relative to the working directory), file:///absolute/path, or s3://bucket/prefix.
    store: str
    # S3-compatible stores (MinIO, R2, ...): their endpoint, spoken to with path-style requests.
    s3_endpoint: str | None = None
    s3_region: str | None = None
    # Omitted: the usual AWS environment (AWS_ACCESS_KEY_ID, instance role, ...) is used.
    access_key_id: Secret | None = None
    secret_access_key: Secret | None = None
    max_bytes: int = Field(default=2 * GIB, ge=1)
    deadline_seconds: float = Field(default=3600.0, gt=0)
    allow_private_networks: bool = False

    @field_validator("store")
    @classmethod
    def _known_store(cls, store: str) -> str:
        if not store.strip():
            raise ValueError("must not be empty: a directory, file:///absolute/path or s3://bucket/prefix")
        if "://" not in store:
            return store
        scheme, _, rest = store.partition("://")
        if scheme == "file":
            if not rest.startswith("/"):
                raise ValueError("a file:// store needs an absolute path: file:///var/lib/videohooks/assets")
            return store
        if scheme == "s3":
            bucket = rest.partition("/")[0]
            if not bucket:
                raise ValueError("an s3:// store names its bucket: s3://bucket or s3://bucket/prefix")
            return store.rstrip("/")
        raise ValueError(
            f"{scheme}:// is not a store: use a directory, file:///absolute/path or s3://bucket/prefix"
        )

    @field_validator("s3_endpoint")
    @classmethod
    def _http_endpoint(cls, endpoint: str | None) -> str | None:
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return endpoint

    @model_validator(mode="after")
    def _s3_settings_need_s3(self) -> AssetsConfig:
        s3_only = ("s3_endpoint", "s3_region", "access_key_id", "secret_access_key")
        given = [name for name in s3_only if getattr(self, name) is not None]
        if given and self.kind != "s3":
            raise ValueError(f"{', '.join(given)} apply to an s3:// store only")
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("give access_key_id and secret_access_key together, or neither")
        return self

    @property
    def kind(self) -> StoreKind:
        return "s3" if self.store.startswith("s3://") else "local"

    @property
    def bucket(self) -> str:
        return urlsplit(self.store).netloc

    @property
    def prefix(self) -> str:
        """The key prefix: the s3:// URL's path; none for a directory store, whose root is the directory."""
        if self.kind != "s3":
            return ""
        return "/".join(part for part in urlsplit(self.store).path.split("/") if part)

    @property
    def directory(self) -> str:
        """A directory store's root, as written (a relative path is resolved when the store opens)."""
        return self.store.removeprefix("file://")


class EventsConfig(BaseModel):
    """`[events] version = 1` publishes the version 1 shape for consumers that have not moved yet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1, 2] = 2
