"""Sources whose callbacks are published as sent although nothing proved them: the weaker mode.

A scheme that does not prove the body (a URL token, none) makes a callback a claim. Where the provider
has a task API and the source the credentials to call it, the claim is only a notification and the
API's answer is published (`Provider.fetches`); without credentials the body is published as sent,
and anyone who learned the callback URL could publish a result the provider never produced. That is
allowed, but said: once at start-up in the log and by `videohooks doctor` as a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from receiver.foundation.logs import logger
from receiver.providers import PROVIDERS
from receiver.sources import SourceConfig
from receiver.verifiers import SIGNATURE_SCHEMES


@dataclass(frozen=True, slots=True)
class Unproven:
    source: str
    detail: str


def unproven_sources(sources: Iterable[SourceConfig]) -> list[Unproven]:
    """The sources that publish unproven bodies although their provider's API could confirm them."""
    found = []
    for source in sources:
        provider = PROVIDERS[source.provider]
        if (
            provider.callbacks is None
            or SIGNATURE_SCHEMES[source.verify].proves_body
            or not provider.has_task_api
            or source.has_api_credentials
        ):
            continue
        found.append(
            Unproven(
                source.id,
                f'verify = "{source.verify}" proves nothing about a callback\'s body, and without API '
                f"credentials it is published as sent: anyone who learns the callback URL can publish "
                f"any result. Set the source's {provider.id} API credentials so that each callback is "
                "confirmed by the provider's API before anything is published.",
            )
        )
    return found


def warn_unproven(sources: Iterable[SourceConfig]) -> None:
    """Log each source of `unproven_sources` once: called when the receiver starts."""
    for unproven in unproven_sources(sources):
        logger.warning("source.unproven_bodies", source=unproven.source, detail=unproven.detail)
