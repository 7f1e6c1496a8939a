"""Assets in the caller's own cloud storage (`gs://bucket/object`, `s3://bucket/key`), read for the copier.

Vertex AI and Bedrock write their videos into the caller's bucket and name them by URL. Such an asset
is read with the credentials of the source whose event names it (its provider's `storage`: Google's
for a `vertex` source, AWS's for a `bedrock` one), never with anyone else's, and only from under that
source's `output_uri` when it has one (`asset_forbidden_location` otherwise, the URL kept): a task's
answer cannot make the receiver read some other bucket the credentials happen to reach. The bytes go
through the same measuring as a download (`max_bytes`, the size announced, sha256).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import BaseError, PermissionDeniedError

from receiver.assets.download import AssetError, Tally, measured
from receiver.clients.storage import CloudStorage
from receiver.config import Config
from receiver.providers import PROVIDERS

if TYPE_CHECKING:
    from obstore import GetResult

CLOUD_SCHEMES = ("gs://", "s3://")


def in_cloud(url: str) -> bool:
    return url.startswith(CLOUD_SCHEMES)


def bucket_and_key(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    key = parts.path.lstrip("/")
    if not parts.netloc or not key:
        raise AssetError("asset_unsupported_url", f"{url} names no bucket and object", retryable=False)
    return parts.netloc, key


def within(url: str, output_uri: str) -> bool:
    """Whether `url` lies under `output_uri` (a bucket, or a folder in it: `gs://b/veo` holds
    `gs://b/veo/x.mp4`, not `gs://b/veo-other/x.mp4`)."""
    folder = output_uri if output_uri.endswith("/") else output_uri + "/"
    return url.startswith(folder)


class CloudReader:
    """Opens cloud asset URLs with the credentials of the source that names them."""

    def __init__(self, config: Config, max_bytes: int) -> None:
        self._config = config
        self._max_bytes = max_bytes
        self._storages: dict[str, CloudStorage | None] = {}

    def _storage(self, source_id: str) -> CloudStorage | None:
        if source_id not in self._storages:
            source = self._config.source(source_id)
            provider = PROVIDERS[source.provider] if source is not None else None
            storage = provider.storage if provider is not None else None
            self._storages[source_id] = storage(source) if storage is not None else None
        return self._storages[source_id]

    def _reading(self, source_id: str, url: str) -> CloudStorage | None:
        """The source's storage, where `url` is in the cloud it has credentials for."""
        storage = self._storage(source_id)
        return storage if storage is not None and url.startswith(f"{storage.scheme}://") else None

    def reads(self, source_id: str, url: str) -> bool:
        return self._reading(source_id, url) is not None

    @asynccontextmanager
    async def open(self, source_id: str, url: str) -> AsyncIterator[tuple[AsyncIterator[bytes], Tally]]:
        """The object as chunks, and the tally they fill in, as `Downloader.open` gives a download;
        `url` is one the source `reads`."""
        storage = self._reading(source_id, url)
        assert storage is not None  # the copier opens only what `reads` accepts
        if storage.output_uri is not None and not within(url, storage.output_uri):
            raise AssetError(
                "asset_forbidden_location",
                f"{url} is not under the source's output_uri {storage.output_uri}: not read",
                retryable=False,
            )
        bucket, key = bucket_and_key(url)
        try:
            result = await self._get(storage, bucket, key)
        except FileNotFoundError:  # obstore's "not found"
            raise AssetError("asset_unavailable", f"{url} does not exist (yet)", retryable=True) from None
        except BaseError as exc:
            raise _store_error(url, exc) from None
        tally = Tally(content_type=result.attributes.get("Content-Type"))
        size = result.meta["size"]
        if size > self._max_bytes:
            raise AssetError(
                "asset_too_large", f"{size} bytes, above max_bytes = {self._max_bytes}", retryable=False
            )
        yield measured(_chunks(url, result.stream(), tally), tally, size, self._max_bytes), tally

    @staticmethod
    async def _get(storage: CloudStorage, bucket: str, key: str) -> GetResult:
        """The object, or where the provider put it instead when the named one is missing."""
        try:
            return await obstore.get_async(storage.store(bucket), key)
        except FileNotFoundError:
            other = await storage.instead_of_missing(bucket, key)
            if other is None or other == key:
                raise
            return await obstore.get_async(storage.store(bucket), other)


async def _chunks(url: str, stream: AsyncIterator[bytes], tally: Tally) -> AsyncIterator[bytes]:
    try:
        async for chunk in stream:
            yield bytes(chunk)
    except BaseError as exc:
        raise AssetError(
            "asset_unavailable",
            f"{url} cut off after {tally.bytes} bytes: {exc.__class__.__name__}",
            retryable=True,
        ) from None


def _store_error(url: str, exc: BaseError) -> AssetError:
    """Permission denied will not change by asking again; anything else may pass later (credentials
    that could not be had or were refused as expired, which the credential provider renews)."""
    reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return AssetError(
        "asset_unavailable",
        f"{url}: {exc.__class__.__name__}: {reason}",
        retryable=not isinstance(exc, PermissionDeniedError),
    )
