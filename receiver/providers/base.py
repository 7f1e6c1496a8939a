"""What a provider is to the receiver: one declaration, in the provider's own package.

A provider's package holds everything the service knows of it: its source settings (the keys only it
has), how its callbacks arrive, its API client for fetching and polling, and, under `schemas/`, its
payload versions with their pure normalizers. The service's modules ask this declaration; none of
them names a provider.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from receiver.clients.base import ResourceClient
from receiver.clients.storage import CloudStorage
from receiver.sources import SourceConfig
from receiver.verifiers import SIGNATURE_SCHEMES
from schemas.event import CanonicalEvent
from schemas.provider import ProviderSchemas

S = TypeVar("S", bound=SourceConfig)

# How a provider's callbacks arrive: "full", the body is the result; "thin", it names the task and the
# result is fetched from the API; None, the provider calls nobody back and its tasks are polled.
Callbacks = Literal["full", "thin"] | None


def imported_on_first_use(target: str) -> Callable[[Any], Any]:
    """A client or storage factory named `module:attribute`, imported when first called.

    For a provider whose client needs a heavy SDK (Alibaba's, google-auth, botocore: a third of a second
    each to import): every process loads the registry, and only one with such a source pays the import.
    """
    module, _, attribute = target.partition(":")

    def build(source: Any) -> Any:
        return getattr(importlib.import_module(module), attribute)(source)

    return build


@dataclass(frozen=True, slots=True)
class Provider(Generic[S]):
    settings: type[S]
    schemas: ProviderSchemas
    callbacks: Callbacks
    # The client of the provider's task API (fetch and poll); None where it has none.
    client: Callable[[S], ResourceClient] | None = None
    # The status a successful callback is answered with: 202, unless the provider retries anything else.
    success_status: int = 202
    # The exact text/plain body a provider requires of every 2xx answer, or it retries (PixVerse: `ok`):
    # the outcome then goes in the `Videohooks-Outcome` header. None: the JSON body. Errors keep JSON.
    acknowledgement: bytes | None = None
    # A full callback that names its result without carrying it (fal's OK with `payload_error`): given
    # the callback's event, whether the result is fetched as for a thin callback.
    result_left_out: Callable[[CanonicalEvent], bool] | None = None
    # Requests per second a source of this provider sends its API unless `api_rate_limit_per_second`
    # says otherwise: the provider's documented limit, else a conservative 10.
    api_rate_limit_per_second: float = 10.0
    # A provider that checks the callback URL before using it (MiniMax's challenge): given an
    # authentic body, the answer to send at once with 200 and nothing stored, or None for a delivery.
    handshake: Callable[[bytes], bytes | None] | None = None
    # A signature form the provider documents but the receiver cannot check (Gemini's per-request
    # webhooks signed with a JWT): given the headers, why the delivery is kept unproven in the
    # dead-letter stream (`unverified_signature`), or None to verify it with the source's scheme.
    unverifiable_signature: Callable[[Mapping[str, str]], str | None] | None = None
    # Where the provider writes results into the caller's own cloud storage (`gs://`, `s3://` URLs):
    # given a source, the storage its assets are copied from with its credentials; None elsewhere.
    storage: Callable[[S], CloudStorage] | None = None

    @property
    def id(self) -> str:
        return self.schemas.name

    @property
    def default_verify(self) -> str:
        return self.settings.DEFAULT_VERIFY

    @property
    def has_task_api(self) -> bool:
        return self.client is not None and bool(self.schemas.resource_versions)

    def fetches(self, source: SourceConfig, event: CanonicalEvent | None = None) -> bool:
        """Whether a callback of `source` (with `event`, what it says) is only a notification, its
        result fetched from the API.

        A thin callback names the task and nothing more. A full one whose scheme proves nothing about
        the body (a URL token) is a claim anyone who learned the URL could make: with credentials to
        ask the API, the API's answer is what is published. A full one may also leave its result out
        (`result_left_out`).
        """
        if not self.has_task_api or not source.has_api_credentials:
            return False
        if self.callbacks == "thin" or not SIGNATURE_SCHEMES[source.verify].proves_body:
            return True
        return event is not None and self.result_left_out is not None and self.result_left_out(event)

    def unwatchable(self, source: SourceConfig) -> str | None:
        """Why the receiver cannot watch (poll, or reconcile) this source's tasks, or None when it can."""
        if not self.has_task_api:
            return f"provider {self.id!r} has no task API to poll"
        if not self.schemas.task_types:
            return f"provider {self.id!r} declares no task_types for the events of its watched tasks"
        if not source.has_api_credentials:
            return f"source {source.id!r} has no API credentials to poll with"
        return None


AnyProvider = Provider[Any]
