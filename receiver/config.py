"""The TOML configuration: loaded once, validated whole, refused with a message naming every bad key.

`[[sources]]` entries are a union discriminated on `provider`: each is validated by its provider's
own settings model (receiver/sources.py, receiver/providers/), so a key that belongs to another
provider is refused like any unknown key.
"""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from receiver.foundation.asset_settings import AssetsConfig, EventsConfig, StoreConfig
from receiver.foundation.errors import ConfigError
from receiver.foundation.settings import Secret, Section, resolve_env
from receiver.foundation.tracing import TelemetryConfig
from receiver.providers import PROVIDERS
from receiver.sources import SourceConfig
from receiver.verifiers import SIGNATURE_SCHEMES

__all__ = ["Config", "ConfigError", "Secret", "SourceConfig", "load_config", "parse_config"]

DEFAULT_CONFIG_FILES = ("videohooks.toml", "videohooks.example.toml")


def fits_scheme(source: SourceConfig) -> SourceConfig:
    """`verify` names a known scheme, and the source sets no key that belongs to another scheme.

    Checked here, where the schemes and every provider's settings meet: the base `SourceConfig` sits
    below the schemes, which build verifiers from it.
    """
    scheme = SIGNATURE_SCHEMES.get(source.verify)
    if scheme is None:
        message = f"must be one of {', '.join(sorted(SIGNATURE_SCHEMES))}, not {source.verify!r}"
        # Raised as the `verify` key's own error, so that the message names the key in the file.
        error = InitErrorDetails(
            type=PydanticCustomError("value_error", message), loc=("verify",), input=source.verify
        )
        raise ValidationError.from_exception_data(type(source).__name__, [error])
    for other in SIGNATURE_SCHEMES.values():
        for key in sorted(other.source_keys - scheme.source_keys):
            if getattr(source, key) is not None:
                raise ValueError(f"{key} is only used with verify = {other.name!r}, not {source.verify!r}")
    scheme.check(source)
    return source


if TYPE_CHECKING:
    AnySource = SourceConfig
else:
    # Each provider's settings validated by its own model: a key of another provider is an unknown key.
    AnySource = Annotated[
        Union[tuple(provider.settings for provider in PROVIDERS.values())],  # noqa: UP007
        Field(discriminator="provider"),
        AfterValidator(fits_scheme),
    ]


def _store_location(value: Any) -> Any:
    """`archive = "var/archive"` is short for `archive = { store = "var/archive" }`."""
    return {"store": value} if isinstance(value, str) else value


class RetentionConfig(Section):
    """How much of each stream Redis keeps, and where trimmed entries go (services/retention.py)."""

    # Cap on each events stream's length, enforced by the periodic task; 0: no cap.
    maxlen: int = Field(default=0, ge=0)
    # Entries older than this are trimmed by the periodic task; 0: kept by age forever.
    min_age_seconds: float = Field(default=0, ge=0)
    # How often the trimming task runs and the stream metrics (length, group lag, pending) refresh.
    check_interval_seconds: float = Field(default=15.0, gt=0, le=3600)
    # Entries are written here (JSON Lines) before they are trimmed: a directory, file:///abs/path or
    # s3://bucket/prefix, or a table with `store` and the S3 settings of `[assets]`.
    archive: Annotated[StoreConfig | None, BeforeValidator(_store_location)] = None
    # Without an archive, entries some consumer group has not been delivered are kept past the limits
    # unless this is true.
    trim_undelivered: bool = False


class RedisConfig(Section):
    # May be "env:NAME": a managed Redis URL carries its password.
    url: Annotated[str | None, BeforeValidator(resolve_env)] = None
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

    def embedded_unless(self, url_override: str | None) -> bool:
        """Whether a run starts its own Redis: none is configured, and none is given for this run
        (`--redis-url`, a test's server)."""
        return not url_override and self.embedded

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [(host, int(port)) for host, _, port in (a.rpartition(":") for a in self.sentinel)]


class ServerConfig(Section):
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    data_dir: str = "var"
    # Callback bodies larger than this are decoded off the event loop, in a worker process at the
    # lowest CPU priority, so that large results do not hold up small ones (receiver/core/offload.py).
    offload_bytes: int = Field(default=65536, ge=0)
    # After SIGTERM, /readyz answers 503 for this long while callbacks are still served, so that a
    # load balancer stops routing here before the listening socket closes.
    shutdown_delay_seconds: float = Field(default=1.0, ge=0, le=300)


class LimitsConfig(Section):
    """What an authentic body may hold before it is quarantined instead of parsed into an event.

    The defaults are far above anything a provider sends (a memories.ai result of a long video has a
    few thousand segments) and far below what would make parsing or a Redis entry expensive.
    """

    max_depth: int = Field(default=32, ge=2, le=512)
    # Items of one array, or members of one object.
    max_items: int = Field(default=10_000, ge=1, le=1_000_000)
    # Bytes of one string as sent, escapes included.
    max_string_bytes: int = Field(default=256 * 1024, ge=64)


# The example configuration's admin token: public, so a server that uses it says so at start-up.
DEMO_ADMIN_TOKEN = "demo-admin-token-from-the-example-config-NOT-A-SECRET"
# The console's session and CSRF keys derive from the admin token: a short one is guessable.
MIN_ADMIN_TOKEN_CHARS = 16


class AdminConfig(Section):
    token: Secret | None = None

    @field_validator("token")
    @classmethod
    def _long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value()) < MIN_ADMIN_TOKEN_CHARS:
            raise ValueError(
                f"must be at least {MIN_ADMIN_TOKEN_CHARS} characters: the console's session keys derive"
                " from it (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return token

    @property
    def is_demo(self) -> bool:
        """The example's public token: anyone who read the README can sign in."""
        return self.token is not None and self.token.get_secret_value() == DEMO_ADMIN_TOKEN


class Config(Section):
    redis: RedisConfig = RedisConfig()
    sources: list[AnySource] = Field(default_factory=list)
    server: ServerConfig = ServerConfig()
    admin: AdminConfig = AdminConfig()
    limits: LimitsConfig = LimitsConfig()
    # Where generated media is copied before the provider deletes it; None: nothing is copied.
    assets: AssetsConfig | None = None
    events: EventsConfig = EventsConfig()
    telemetry: TelemetryConfig = TelemetryConfig()

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
        elif isinstance(node, dict) and part not in node and part == node.get("provider"):
            continue  # the union's tag: the provider's own model, not a key in the file
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
            loc = error["loc"]
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            elif error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc = (*loc, "provider")
                message = f"must be one of {', '.join(PROVIDERS)}"
            problems.append(f"  {_key_path(loc, data)}: {message}")
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
