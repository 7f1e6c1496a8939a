"""Every signature scheme the receiver knows, by the name `verify` takes in the config.

Adding a scheme is one module in this package (a `Verifier` and its `SCHEME`) and one line here;
`verifier_for` (receiver/providers/__init__.py) builds a source's verifier from it.
"""

from __future__ import annotations

from receiver.foundation.errors import Unauthentic
from receiver.verifiers import fal, none, openrouter, standard_webhooks, twelvelabs, url_token
from receiver.verifiers.base import Scheme, Signed, Verifier

SIGNATURE_SCHEMES: dict[str, Scheme] = {
    scheme.name: scheme
    for scheme in (
        standard_webhooks.SCHEME,
        twelvelabs.SCHEME,
        url_token.SCHEME,
        none.SCHEME,
        fal.SCHEME,
        openrouter.SCHEME,
    )
}

# Headers that can carry credentials whatever the scheme: never kept with a dead letter.
_ALWAYS_PRIVATE = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"}
)
PRIVATE_HEADERS = _ALWAYS_PRIVATE.union(*(scheme.credential_headers for scheme in SIGNATURE_SCHEMES.values()))

__all__ = ["PRIVATE_HEADERS", "SIGNATURE_SCHEMES", "Scheme", "Signed", "Unauthentic", "Verifier"]
