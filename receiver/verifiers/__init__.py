"""Every signature scheme the receiver knows, by the name `verify` takes in the config.

Adding a scheme is one module in this package (a `Verifier` and its `SCHEME`) and one line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from receiver.errors import Unauthentic
from receiver.verifiers import (
    fal,
    none,
    openrouter,
    pixverse,
    standard_webhooks,
    twelvelabs,
    url_token,
    vidu,
)
from receiver.verifiers.base import Scheme, Signed, Verifier

if TYPE_CHECKING:
    from receiver.sources import SourceConfig

SCHEMES: dict[str, Scheme] = {
    scheme.name: scheme
    for scheme in (
        standard_webhooks.SCHEME,
        twelvelabs.SCHEME,
        url_token.SCHEME,
        none.SCHEME,
        fal.SCHEME,
        openrouter.SCHEME,
        pixverse.SCHEME,
        vidu.SCHEME,
    )
}

# Headers that can carry credentials whatever the scheme: never kept with a dead letter.
_ALWAYS_PRIVATE = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"}
)
PRIVATE_HEADERS = _ALWAYS_PRIVATE.union(*(scheme.credential_headers for scheme in SCHEMES.values()))

__all__ = ["PRIVATE_HEADERS", "SCHEMES", "Scheme", "Signed", "Unauthentic", "Verifier", "verifier_for"]


def verifier_for(source: SourceConfig) -> Verifier:
    from receiver.providers import PROVIDERS
    from receiver.verifiers.unproven import UnprovenForms

    verifier = SCHEMES[source.verify].build(source)
    unverifiable = PROVIDERS[source.provider].unverifiable_signature
    return verifier if unverifiable is None else UnprovenForms(verifier, unverifiable)
