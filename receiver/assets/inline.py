"""Inline media (base64 inside a JSON result, as Gemini can return) decoded straight into the store.

The text is already in memory, inside the parsed body; decoding it whole would hold a second copy,
three quarters its size. It is decoded a slice at a time instead, each slice a whole number of base64
quanta, and streamed to the store: media bytes never reach Redis, the stream or the dead letters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator

from receiver.assets.download import AssetError
from receiver.assets.store import AssetStore, StoredCopy

# A multiple of 4 (one base64 quantum): 3 MiB of media per slice.
SLICE_CHARS = 4 * 1024 * 1024


def split_data_url(data: str) -> tuple[str | None, str]:
    """`data:video/mp4;base64,AAAA` as (`video/mp4`, `AAAA`); plain base64 as (None, itself)."""
    if not data.startswith("data:"):
        return None, data
    header, _, payload = data.partition(",")
    media_type = header.removeprefix("data:").partition(";")[0]
    return media_type or None, payload


async def store_inline(
    store: AssetStore,
    data: str,
    *,
    source: str,
    task_id: str,
    index: int,
    kind: str,
    content_type: str | None = None,
    max_bytes: int,
) -> StoredCopy:
    """Write base64 `data` (or a `data:` URL) as asset `index` of the task; refuses what is not base64
    (`asset_invalid_inline`) and what decodes beyond `max_bytes` (`asset_too_large`)."""
    declared, text = split_data_url(data)
    content_type = content_type or declared
    if any(space in text for space in ("\n", "\r", " ", "\t")):  # wrapped lines: a copy, but rare
        text = "".join(text.split())
    if len(text) // 4 * 3 > max_bytes + 2:
        raise AssetError("asset_too_large", f"inline media above max_bytes = {max_bytes}", retryable=False)
    digest = hashlib.sha256()
    size = 0

    async def decoded() -> AsyncIterator[bytes]:
        nonlocal size
        for start in range(0, len(text), SLICE_CHARS):
            try:
                chunk = base64.b64decode(text[start : start + SLICE_CHARS], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise AssetError("asset_invalid_inline", f"not base64: {exc}", retryable=False) from None
            size += len(chunk)
            if size > max_bytes:
                raise AssetError(
                    "asset_too_large", f"inline media above max_bytes = {max_bytes}", retryable=False
                )
            digest.update(chunk)
            yield chunk

    key = store.key(source, task_id, index, kind, content_type, None)
    url = await store.put(key, decoded(), content_type)
    return StoredCopy(url, content_type, size, digest.hexdigest())
