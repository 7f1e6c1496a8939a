"""What `videohooks sources` shows: each configured source as an operator needs to see it, secrets masked.

The view is computed from the loaded configuration only (no I/O), so that the table and its `--json`
form cannot drift apart, and so that no code path that prints a source ever holds a secret in clear.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import SecretStr

from receiver.config import Config, SourceConfig
from receiver.providers import PROVIDERS
from receiver.verifiers import SIGNATURE_SCHEMES

# A secret shorter than this shows no characters at all: four of eight would give half of it away.
_MIN_REVEALABLE = 16
_REVEALED_TAIL = 4
# A scheme prefix such as `whsec_` says which kind of secret it is and is no part of its entropy.
_KIND_PREFIX = re.compile(r"^[a-z]{2,8}_")


def mask(secret: str) -> str:
    """`whsec_…9f3a`: the kind prefix and, for long secrets, the last four characters; never more."""
    match = _KIND_PREFIX.match(secret)
    kind = match.group(0) if match else ""
    tail = secret[-_REVEALED_TAIL:] if len(secret) >= _MIN_REVEALABLE else ""
    return f"{kind}…{tail}"


def mask_secrets(secrets: list[SecretStr]) -> str:
    """The current (first) secret masked, with how many are accepted while a secret rotates."""
    if not secrets:
        return "-"
    return f"{mask(secrets[0].get_secret_value())} ({len(secrets)} active)"


@dataclass(frozen=True, slots=True)
class SourceView:
    id: str
    provider: str
    verify: str
    # None for poll-only sources, which take no callbacks.
    callback_path: str | None
    secrets: str
    api_credentials: bool

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def callback_path(source: SourceConfig) -> str | None:
    """The path to register with the provider, its url-token masked; None when the source is poll-only."""
    if PROVIDERS[source.provider].callbacks is None:
        return None
    if SIGNATURE_SCHEMES[source.verify].token_in_path:
        return f"/v1/callbacks/{source.id}/{mask(source.secret_values()[0])}"
    return f"/v1/callbacks/{source.id}"


def view(source: SourceConfig) -> SourceView:
    return SourceView(
        id=source.id,
        provider=source.provider,
        verify=source.scheme,
        callback_path=callback_path(source),
        secrets=mask_secrets(source.secrets),
        api_credentials=source.has_api_credentials,
    )


def inventory(config: Config) -> list[SourceView]:
    return [view(source) for source in config.sources]
