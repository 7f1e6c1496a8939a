"""What every source's settings share; each provider's package adds its own keys in a subclass.

`[[sources]]` entries are validated as a union discriminated on `provider` (receiver/config.py), so a
key that belongs to another provider is an unknown key, refused at start-up like a typo. Secrets may be
written inline or as `env:NAME` (receiver/foundation/settings.py). Whether `verify` names a known
scheme, and whether the secrets fit it, is checked with the whole configuration (receiver/config.py):
the schemes sit above this module.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from receiver.foundation.settings import Secret, Section


class SourceConfig(Section):
    """One `[[sources]]` entry: the keys every provider's source has.

    A provider's subclass narrows `provider` to its id, sets `DEFAULT_VERIFY` (and `api_base_url`'s
    default where its API has one), and adds the credentials only it needs.
    """

    # The scheme used when `verify` is not set; "none" for providers that take no callbacks.
    DEFAULT_VERIFY: ClassVar[str] = "none"

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    provider: str
    verify: str = "none"
    secrets: list[Secret] = Field(default_factory=list)
    tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    api_base_url: str | None = None
    api_key: Secret | None = None
    poll_interval_seconds: float = Field(default=5.0, gt=0)
    deadline_seconds: float = Field(default=86400.0, gt=0)
    # The longest wait between two calls to the provider's API (polls back off by x1.5 from
    # poll_interval_seconds, fetch retries double from fetch_retry_seconds), unless it says Retry-After.
    max_interval_seconds: float = Field(default=300.0, gt=0)
    # Fetch-on-notify: the first retry after a failed fetch, doubling from there, and how long after the
    # webhook to keep trying before the webhook's own event is published with error `fetch_failed`.
    fetch_retry_seconds: float = Field(default=2.0, gt=0)
    fetch_deadline_seconds: float = Field(default=3600.0, gt=0)
    # Upper bound on one request to the provider's API.
    api_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Per-process token bucket on the callback route (see receiver/core/ratelimit.py); None: no limit.
    rate_limit_per_second: float | None = Field(default=None, gt=0)
    rate_limit_burst: int | None = Field(default=None, ge=1)
    # The most requests a second this source sends its provider's API, shared by every process that uses
    # the same Redis (receiver/core/budget.py); None: the provider's documented limit (else 10).
    api_rate_limit_per_second: float | None = Field(default=None, gt=0)
    # The most requests at once after a quiet spell; None: the rate, rounded up.
    api_rate_limit_burst: int | None = Field(default=None, ge=1)
    # A watched task of a callback source is polled only if no final status was published this long
    # after its watch began (the callback was lost).
    reconcile_after_seconds: float = Field(default=900.0, gt=0)
    # A callback with a non-final status starts its task's watch; None: on where the provider has a
    # task API and this source its credentials.
    watch_on_callback: bool | None = None
    # Callbacks of this source larger than this answer 413; None: `[server] max_body_bytes`.
    max_body_bytes: int | None = Field(default=None, ge=1024, le=256 * 1024 * 1024)
    # Where a scheme that checks signatures with public keys reads them (verify = "fal"); None: its default.
    jwks_url: str | None = None

    @field_validator("api_base_url", "jwks_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return None if url is None else url.rstrip("/")

    @model_validator(mode="before")
    @classmethod
    def _default_scheme(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("verify") is None:
            return {**data, "verify": cls.DEFAULT_VERIFY}
        return data

    @property
    def scheme(self) -> str:
        return self.verify

    @property
    def has_api_credentials(self) -> bool:
        """Whether this source can call its provider's API; providers that sign requests override it."""
        return self.api_key is not None

    def api_headers(self) -> dict[str, str]:
        """Headers that authenticate a request to the provider's API: a Bearer key unless overridden."""
        if self.api_key is None:
            return {}
        return {"authorization": f"Bearer {self.api_key.get_secret_value()}"}

    def secret_values(self) -> list[str]:
        return [secret.get_secret_value() for secret in self.secrets]

    def require(self, *keys: str) -> None:
        """Refuse the source at start-up unless each of `keys` is set: a provider that cannot work
        without them must not start half-configured."""
        missing = [key for key in keys if getattr(self, key) is None]
        if missing:
            raise ValueError(f"provider {self.provider!r} needs {', '.join(missing)}")
