"""What a provider's cloud storage is to the asset copier: the `CloudStorage` protocol.

Cloud providers write results into the caller's own bucket (Vertex AI to `gs://`, Bedrock to `s3://`)
and name them by URL. Reading them needs the source's own credentials, which only its provider's
package knows how to make; the copier (receiver/assets/cloud.py) asks this protocol for an object
store per bucket and reads from it, never naming a provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from obstore.store import ClientConfig, GCSStore, S3Store


class CloudStorage(Protocol):
    # The URL scheme its results carry: "gs" or "s3".
    @property
    def scheme(self) -> str: ...

    # The only place assets are copied from (`gs://bucket/prefix`), or None: anywhere in that scheme.
    @property
    def output_uri(self) -> str | None: ...

    def store(self, bucket: str) -> GCSStore | S3Store:
        """An object store for `bucket`, reading with the source's credentials."""
        ...

    async def instead_of_missing(self, bucket: str, key: str) -> str | None:
        """Where the provider may have written the result its answer names `key` when there is no
        such object (a name it documents for some models only), or None."""
        ...


def client_options(endpoint: str | None) -> ClientConfig | None:
    """A plain-http endpoint (an emulator on loopback) must be allowed explicitly."""
    return {"allow_http": True} if endpoint is not None and endpoint.startswith("http://") else None
