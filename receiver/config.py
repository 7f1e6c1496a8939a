"""The TOML configuration: loaded once, validated whole, refused with a message naming every bad key.

Secrets may be written inline or as `env:NAME`, read from the environment at load time; they are held
as `SecretStr` so that no repr, log line or error message can show them.
"""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas.registry import PROVIDERS

ProviderName = Literal["memories", "twelvelabs", "openai", "openai-compatible", "bailian"]
VerifyScheme = Literal["standard-webhooks", "twelvelabs", "url-token", "none"]

DEFAULT_CONFIG_FILES = ("videohooks.toml", "videohooks.example.toml")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, each bad key and its problem."""


def _resolve_env(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("env:"):
        name = value.removeprefix("env:")
        resolved = os.environ.get(name)
        if not resolved:
            raise ValueError(f"environment variable {name} is not set or empty")
        return resolved
    return value


Secret = Annotated[SecretStr, BeforeValidator(_resolve_env)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetentionConfig(_Section):
    """How much of each stream Redis keeps: consumers must read within it, or entries are gone."""

    # Approximate cap (`XADD ... MAXLEN ~`) applied on every append; 0: no cap.
    maxlen: int = Field(default=0, ge=0)
    # Entries older than this are trimmed (`XTRIM MINID ~`) by a periodic task; 0: kept by age forever.
    min_age_seconds: float = Field(default=0, ge=0)
    # How often the trimming task runs and the stream metrics (length, group lag, pending) refresh.
    check_interval_seconds: float = Field(default=15.0, gt=0, le=3600)


class RedisConfig(_Section):
    # May be "env:NAME": a managed Redis URL carries its password.
    url: Annotated[str | None, BeforeValidator(_resolve_env)] = None
    prefix: str = Field(default="videohooks", pattern=r"^[A-Za-z0-9_.:-]+$")
    cluster: bool = False
    partitions: int = Field(default=1, ge=1, le=1024)
    # OpenAI retries for 72 hours; a week covers it with room for a slow redrive.
    dedupe_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=3600)
    # Upper bound on one Redis command, so that an unreachable Redis answers 503 quickly.
    timeout_seconds: float = Field(default=1.0, gt=0, le=30)
    max_connections: int = Field(default=32, ge=1, le=1024)
    retention: RetentionConfig = RetentionConfig()
    # Replicas that must hold a write before it is acknowledged (WAIT after each publish): 0 trusts the
    # master alone, 1 survives a failover that promotes a replica which had not yet received the write.
    wait_replicas: int = Field(default=0, ge=0, le=16)
    wait_timeout_ms: int = Field(default=500, ge=1, le=30_000)
    # High availability without a cluster: "host:port" of the sentinels that know `sentinel_service`.
    sentinel: list[str] = Field(default_factory=list)
    sentinel_service: str = Field(default="mymaster", min_length=1)
    # With `sentinel`: the password of the master and its replicas (with `url`, it belongs in the URL),
    # and that of the sentinels themselves when they require one (`requirepass` in sentinel.conf).
    password: Secret | None = None
    sentinel_password: Secret | None = None

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url

    @field_validator("sentinel")
    @classmethod
    def _host_ports(cls, addresses: list[str]) -> list[str]:
        for address in addresses:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{address!r} is not host:port")
        return addresses

    @model_validator(mode="after")
    def _one_topology(self) -> RedisConfig:
        if self.sentinel and self.cluster:
            raise ValueError("sentinel and cluster = true exclude each other: a cluster fails over by itself")
        if self.sentinel and self.url is not None:
            raise ValueError("give url or sentinel, not both: with sentinel the master's address is asked")
        if not self.sentinel and (self.password is not None or self.sentinel_password is not None):
            raise ValueError(
                "password and sentinel_password go with sentinel; with url, the URL holds the password"
            )
        if self.wait_replicas and self.wait_timeout_ms >= self.timeout_seconds * 1000:
            raise ValueError("wait_timeout_ms must be below timeout_seconds, which bounds every command")
        return self

    @property
    def embedded(self) -> bool:
        """No server is configured: the receiver starts its own Redis (one process only)."""
        return self.url is None and not self.sentinel

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [(host, int(port)) for host, _, port in (a.rpartition(":") for a in self.sentinel)]


class SourceConfig(_Section):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    provider: ProviderName
    verify: VerifyScheme | None = None
    secrets: list[Secret] = Field(default_factory=list)
    tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    api_base_url: str | None = None
    api_key: Secret | None = None
    workspace_id: str | None = None
    access_key_id: Secret | None = None
    access_key_secret: Secret | None = None
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
    # Per-process token bucket on the callback route (see receiver/ratelimit.py); None: no limit.
    rate_limit_per_second: float | None = Field(default=None, gt=0)
    rate_limit_burst: int | None = Field(default=None, ge=1)

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return None if url is None else url.rstrip("/")

    @model_validator(mode="before")
    @classmethod
    def _default_scheme(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("verify") is None and data.get("provider") in PROVIDERS:
            return {**data, "verify": PROVIDERS[data["provider"]].default_verify}
        return data

    @model_validator(mode="after")
    def _secrets_fit_scheme(self) -> SourceConfig:
        if self.verify is None:
            raise ValueError(f"provider {self.provider!r} has no default verify scheme: set verify")
        scheme = self.verify
        if scheme != "none" and not self.secrets:
            raise ValueError(f"verify = {scheme!r} needs at least one entry in secrets")
        if scheme == "standard-webhooks":
            from receiver.verifiers.standard_webhooks import decode_secret

            for secret in self.secrets:
                decode_secret(secret.get_secret_value())
        return self

    @model_validator(mode="after")
    def _bailian_can_poll(self) -> SourceConfig:
        """Bailian is poll only, with AccessKey-signed requests: without these keys it can never work."""
        if self.provider == "bailian":
            needed = ("workspace_id", "access_key_id", "access_key_secret")
            missing = [name for name in needed if getattr(self, name) is None]
            if missing:
                raise ValueError(f"provider 'bailian' polls its API and needs {', '.join(missing)}")
        return self

    @property
    def scheme(self) -> VerifyScheme:
        assert self.verify is not None  # filled in by the validator above
        return self.verify

    def secret_values(self) -> list[str]:
        return [secret.get_secret_value() for secret in self.secrets]


class ServerConfig(_Section):
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    data_dir: str = "var"
    # After SIGTERM, /readyz answers 503 for this long while callbacks are still served, so that a
    # load balancer stops routing here before the listening socket closes.
    shutdown_delay_seconds: float = Field(default=1.0, ge=0, le=300)


class LimitsConfig(_Section):
    """What an authentic body may hold before it is quarantined instead of parsed into an event.

    The defaults are far above anything a provider sends (a memories.ai result of a long video has a
    few thousand segments) and far below what would make parsing or a Redis entry expensive.
    """

    max_depth: int = Field(default=32, ge=2, le=512)
    # Items of one array, or members of one object.
    max_items: int = Field(default=10_000, ge=1, le=1_000_000)
    # Bytes of one string as sent, escapes included.
    max_string_bytes: int = Field(default=256 * 1024, ge=64)


class AdminConfig(_Section):
    token: Secret | None = None


class Config(_Section):
    redis: RedisConfig = RedisConfig()
    sources: list[SourceConfig] = Field(default_factory=list)
    server: ServerConfig = ServerConfig()
    admin: AdminConfig = AdminConfig()
    limits: LimitsConfig = LimitsConfig()

    @field_validator("sources")
    @classmethod
    def _unique_ids(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for source in sources:
            if source.id in seen:
                raise ValueError(f"source id {source.id!r} appears twice")
            seen.add(source.id)
        return sources

    def source(self, source_id: str) -> SourceConfig | None:
        return self._sources_by_id.get(source_id)

    @cached_property
    def _sources_by_id(self) -> dict[str, SourceConfig]:
        """Looked up on every callback: a dict, built once (the config is frozen, the ids unique)."""
        return {source.id: source for source in self.sources}


def _key_path(loc: tuple[int | str, ...], data: dict[str, Any]) -> str:
    """`("sources", 0, "verify")` as `sources[0] (id "x").verify`: the way a user finds it in the file."""
    path = ""
    node: Any = data
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                path += f' (id "{node["id"]}")'
        else:
            path += f".{part}" if path else part
            node = node.get(part) if isinstance(node, dict) else None
    return path or "(top level)"


def parse_config(data: dict[str, Any], origin: str = "config") -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append(f"  {_key_path(error['loc'], data)}: {message}")
        raise ConfigError(f"{origin}: invalid configuration\n" + "\n".join(problems)) from None


def find_config_path(given: str | os.PathLike[str] | None) -> Path:
    """`--config`, else `VIDEOHOOKS_CONFIG`, else `videohooks.toml` or the example in the working dir."""
    candidate = given or os.environ.get("VIDEOHOOKS_CONFIG")
    if candidate:
        return Path(candidate)
    for name in DEFAULT_CONFIG_FILES:
        if Path(name).is_file():
            return Path(name)
    raise ConfigError("no configuration: pass --config FILE or set VIDEOHOOKS_CONFIG")


def load_config(given: str | os.PathLike[str] | None = None) -> Config:
    path = find_config_path(given)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, origin=str(path))
