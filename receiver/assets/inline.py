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
from dataclasses import replace
from typing import Any

import orjson

from receiver.assets.download import AssetError
from receiver.assets.store import AssetStore, StoredCopy
from receiver.foundation.errors import Quarantine
from schemas.event import Asset, CanonicalEvent

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


# A normalizer names inline media by where it lies in the decoded document (RFC 6901 JSON pointer), so
# that the event never holds the bytes: `inline:/response/generatedSamples/0/video/encodedVideo`.
INLINE_PREFIX = "inline:"
# What a dead letter keeps in place of inline media: its size, never the bytes.
OMITTED = "<inline media omitted: {chars} base64 characters>"


def inline_pointer(asset: Asset) -> str | None:
    if asset.url is None or not asset.url.startswith(INLINE_PREFIX):
        return None
    return asset.url.removeprefix(INLINE_PREFIX)


def carries_inline_media(event: CanonicalEvent) -> bool:
    return any(inline_pointer(asset) for asset in event.assets)


def _steps(pointer: str) -> list[str]:
    return [step.replace("~1", "/").replace("~0", "~") for step in pointer.split("/")[1:]]


def _parent(document: Any, pointer: str) -> tuple[Any, str | int]:
    """The container holding what `pointer` names, and its key there; `Quarantine` if there is none."""
    node = document
    steps = _steps(pointer)
    if not steps:
        raise Quarantine("invalid_inline_media", f"{pointer!r} names no inline media")
    for step in steps[:-1]:
        node = _child(node, step, pointer)
    last = steps[-1]
    return node, (int(last) if isinstance(node, list) and last.isdigit() else last)


def _child(node: Any, step: str, pointer: str) -> Any:
    if isinstance(node, dict) and step in node:
        return node[step]
    if isinstance(node, list) and step.isdigit() and int(step) < len(node):
        return node[int(step)]
    raise Quarantine("invalid_inline_media", f"the document has nothing at {pointer!r}")


def inline_text(document: Any, pointer: str) -> str:
    parent, key = _parent(document, pointer)
    value = _child(parent, str(key), pointer)
    if not isinstance(value, str):
        raise Quarantine("invalid_inline_media", f"the inline media at {pointer!r} is not base64 text")
    return value


def without_inline_media(body: bytes, pointers: list[str]) -> bytes:
    """The body as a dead letter keeps it: each inline media string replaced by a note of its size."""
    document = orjson.loads(body)
    for pointer in pointers:
        parent, key = _parent(document, pointer)
        parent[key] = OMITTED.format(chars=len(inline_text(document, pointer)))
    return orjson.dumps(document)


async def materialize(
    event: CanonicalEvent, body: bytes, store: AssetStore | None, max_bytes: int
) -> CanonicalEvent:
    """`event` with each inline asset written to the store and replaced by its stored copy.

    Without a store inline media cannot be kept anywhere it belongs (never in Redis): the delivery is
    quarantined as `inline_media_without_store`, its dead letter holding the body without the media.
    """
    pointers = {
        index: pointer for index, asset in enumerate(event.assets) if (pointer := inline_pointer(asset))
    }
    if not pointers:
        return event
    if store is None:
        raise Quarantine(
            "inline_media_without_store",
            "the result carries its media inline (base64) and no [assets] store is configured to keep it",
            kept_body=without_inline_media(body, list(pointers.values())),
        )
    document = orjson.loads(body)
    assets = list(event.assets)
    for index, pointer in pointers.items():
        asset = assets[index]
        copy = await store_inline(
            store,
            inline_text(document, pointer),
            source=event.source,
            task_id=event.task_id,
            index=index,
            kind=asset.kind,
            content_type=asset.content_type,
            max_bytes=max_bytes,
        )
        assets[index] = Asset(
            kind=asset.kind,
            url=copy.url,
            expires_at=None,
            source_url=None,
            content_type=copy.content_type,
            bytes=copy.bytes,
            sha256=copy.sha256,
        )
    return replace(event, assets=tuple(assets))
