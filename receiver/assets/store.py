"""The object store copies are written to: a local directory or an S3(-compatible) bucket, one API.

Built on `obstore` (Python bindings of the Rust `object_store` crate, maintained under Apache Arrow):
one async API over the local filesystem, S3 and S3-compatible stores (MinIO, R2, ...), GCS and Azure,
with streaming multipart uploads that take an async iterator of chunks, request signing, and retries.
The copier hands it the download as it arrives, so memory holds a few parts whatever the size; a
local write goes to a temporary file renamed into place, an S3 write is a multipart upload completed
only at the end: a copy cut short never leaves a partial object under the final key. `aiobotocore`
would do S3 alone, and need hand-written multipart bookkeeping on top.
"""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import obstore
from obstore.store import LocalStore, S3Store

from receiver.foundation.asset_settings import AssetsConfig

if TYPE_CHECKING:
    from obstore.store import ClientConfig, S3Config

# Multipart parts of this size, at most this many in flight: what a copy holds in memory at worst.
PART_BYTES = 8 * 1024 * 1024
PARTS_IN_FLIGHT = 4

# Content types that say nothing of the file's kind: the URL's extension is better then.
_GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", "application/binary"})
# mimetypes' first guess is not always the usual one.
_PREFERRED_EXTENSIONS = {"image/jpeg": ".jpg", "audio/mpeg": ".mp3", "video/quicktime": ".mov"}


def extension(content_type: str | None, url: str | None) -> str:
    """`.mp4` for `video/mp4`; else the URL path's extension (if it looks like one); else none."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type and media_type not in _GENERIC_TYPES:
        guessed = _PREFERRED_EXTENSIONS.get(media_type) or mimetypes.guess_extension(media_type, strict=False)
        if guessed:
            return guessed
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower() if url else ""
    return suffix if 1 < len(suffix) <= 6 and suffix[1:].isalnum() else ""


def _segment(text: str) -> str:
    """One path segment from a value the provider chose (a task id may hold `/` or be `..`)."""
    encoded = quote(text, safe="-_.~@+=,")
    return encoded.replace(".", "%2E") if encoded.strip(".") == "" else encoded


def asset_key(
    prefix: str, source: str, task_id: str, index: int, kind: str, content_type: str | None, url: str | None
) -> str:
    """`<prefix>/<source>/<task_id>/<index>-<kind><ext>`: the same for every attempt at one asset."""
    name = f"{index}-{_segment(kind)}{extension(content_type, url)}"
    return "/".join(part for part in (prefix, _segment(source), _segment(task_id), name) if part)


@dataclass(frozen=True, slots=True)
class StoredCopy:
    """A copy in the store: what the event's asset says of it."""

    url: str
    content_type: str | None
    bytes: int
    sha256: str


class AssetStore:
    """Where copies are written; `put` streams one in and answers the stored copy's URL."""

    def __init__(self, config: AssetsConfig) -> None:
        self._prefix = config.prefix
        self._typed = config.kind == "s3"
        self._store: LocalStore | S3Store
        if config.kind == "local":
            root = Path(config.directory).resolve()
            self._store = LocalStore(root, mkdir=True)
            self._base = f"file://{root.as_posix().rstrip('/')}/"
        else:
            self._store = S3Store(
                config.bucket, config=_s3_config(config), client_options=_client_options(config)
            )
            self._base = f"s3://{config.bucket}/"

    def key(
        self, source: str, task_id: str, index: int, kind: str, content_type: str | None, url: str | None
    ) -> str:
        return asset_key(self._prefix, source, task_id, index, kind, content_type, url)

    def url(self, key: str) -> str:
        return self._base + key

    async def put(self, key: str, chunks: AsyncIterable[bytes], content_type: str | None = None) -> str:
        """Stream `chunks` to `key` (overwriting: a retried copy lands on the same object); its URL."""
        # A directory keeps no attributes (the extension says the type); S3 serves the copy with it.
        attributes = {"Content-Type": content_type} if content_type and self._typed else None
        await obstore.put_async(
            self._store,
            key,
            chunks,
            attributes=attributes,
            use_multipart=True,
            chunk_size=PART_BYTES,
            max_concurrency=PARTS_IN_FLIGHT,
        )
        return self.url(key)

    async def check_writable(self) -> str:
        """Write and delete a probe object, for `doctor`; raises what the store raised."""
        key = "/".join(part for part in (self._prefix, ".videohooks-probe", uuid.uuid4().hex) if part)
        await obstore.put_async(self._store, key, b"probe")
        await obstore.delete_async(self._store, key)
        return f"wrote and deleted a probe object under {self.url(key).rpartition('/')[0]}/"


def _s3_config(config: AssetsConfig) -> S3Config:
    settings: S3Config = {}
    if config.s3_endpoint is not None:
        settings |= {"endpoint": config.s3_endpoint, "virtual_hosted_style_request": False}
    if config.s3_region is not None:
        settings["region"] = config.s3_region
    if config.access_key_id is not None and config.secret_access_key is not None:
        settings["access_key_id"] = config.access_key_id.get_secret_value()
        settings["secret_access_key"] = config.secret_access_key.get_secret_value()
    return settings


def _client_options(config: AssetsConfig) -> ClientConfig | None:
    """A plain-http endpoint (a MinIO on the host's network) must be allowed explicitly."""
    if config.s3_endpoint is not None and config.s3_endpoint.startswith("http://"):
        return {"allow_http": True}
    return None
