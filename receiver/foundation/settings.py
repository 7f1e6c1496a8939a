"""What every TOML table of the configuration shares: unknown keys refused, secrets never shown.

Secrets may be written inline or as `env:NAME`, read from the environment at load time; they are held
as `SecretStr` so that no repr, log line or error message can show them. Also the one rule the request
documents share: a field that may be left out is not given as null.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr


def resolve_env(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("env:"):
        name = value.removeprefix("env:")
        resolved = os.environ.get(name)
        if not resolved:
            raise ValueError(f"environment variable {name} is not set or empty")
        return resolved
    return value


Secret = Annotated[SecretStr, BeforeValidator(resolve_env)]


def not_null(leave_out: str) -> BeforeValidator:
    """Refuses an explicit null for a field whose absence means something (`leave_out` says what), so that
    null is never read as "left out"."""

    def refuse(value: object) -> object:
        if value is None:
            raise ValueError(leave_out)
        return value

    return BeforeValidator(refuse)


class Section(BaseModel):
    """A TOML table: every key known, nothing changed after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)
