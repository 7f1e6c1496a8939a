"""The retention archive: stream entries written as JSON Lines before they are trimmed, and put back.

One object per trimmed batch, `<prefix>/<stream>/<first entry id>.jsonl` (the stream name escaped as
one key segment), one line per entry: `{"stream", "entry_id", "event", "fields"}` with `event` the
event JSON as published (an object, not a string) and `fields` the entry's other fields (`event_id`,
`source`, `traceparent`, ...). A batch written again after a crash between writing and trimming
starts at the same entry, so it lands on the same key; `restore` also skips entry ids it has seen,
and entries still in the stream, so a restore never doubles an event.

The store is the asset store's code (receiver/assets/store.py): a directory or an S3(-compatible)
bucket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import obstore
import orjson
from obstore.exceptions import BaseError

from receiver.assets.store import key_segment, open_store
from receiver.foundation.asset_settings import StoreConfig
from receiver.foundation.errors import ArchiveUnavailable
from receiver.foundation.keys import AnyRedis, as_text, entry_id_order

# Entries re-added per round trip by `restore`.
RESTORE_BATCH = 500

Entry = tuple[Any, Mapping[Any, Any]]


@dataclass(frozen=True, slots=True)
class Archived:
    stream: str
    entry_id: str
    fields: dict[str, str]  # the entry's fields as written, `event` among them


class Archive:
    def __init__(self, config: StoreConfig) -> None:
        self._store, self._base = open_store(config)
        self._prefix = config.prefix

    def _folder(self, stream: str) -> str:
        return "/".join(part for part in (self._prefix, key_segment(stream)) if part)

    async def write(self, stream: str, entries: Sequence[Entry]) -> str:
        """Write `entries` (XRANGE's reply, oldest first) as one object; its URL. Raises
        ArchiveUnavailable when the store refuses: the caller trims nothing then."""
        lines = []
        for entry_id, raw in entries:
            fields = {as_text(name): as_text(value) for name, value in raw.items()}
            event = fields.pop("event", "null")
            record = {"stream": stream, "entry_id": as_text(entry_id), "event": orjson.Fragment(event)}
            lines.append(orjson.dumps(record | {"fields": fields}))
        key = f"{self._folder(stream)}/{as_text(entries[0][0])}.jsonl"
        try:
            await obstore.put_async(self._store, key, b"\n".join(lines) + b"\n")
        except (BaseError, OSError) as exc:
            raise ArchiveUnavailable(f"cannot write {self._base + key}: {exc}") from exc
        return self._base + key

    async def entries(self, stream: str) -> AsyncIterator[Archived]:
        """Every archived entry of `stream`, oldest first."""
        keys: list[str] = []
        try:
            async for batch in obstore.list(self._store, prefix=self._folder(stream) + "/"):
                keys += [meta["path"] for meta in batch if meta["path"].endswith(".jsonl")]
        except (BaseError, OSError) as exc:
            raise ArchiveUnavailable(f"cannot list {self._base}{self._folder(stream)}/: {exc}") from exc
        keys.sort(key=lambda path: entry_id_order(path.rpartition("/")[2].removesuffix(".jsonl")))
        for key in keys:
            try:
                data = await (await obstore.get_async(self._store, key)).bytes_async()
            except (BaseError, OSError) as exc:
                raise ArchiveUnavailable(f"cannot read {self._base + key}: {exc}") from exc
            for line in bytes(data).splitlines():
                if line.strip():
                    record = orjson.loads(line)
                    fields = {"event": orjson.dumps(record["event"]).decode(), **record["fields"]}
                    yield Archived(record["stream"], record["entry_id"], fields)


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


async def restore(
    redis: AnyRedis,
    archive: Archive,
    stream: str,
    since: datetime | None = None,
    until: datetime | None = None,
    to_stream: str | None = None,
) -> int:
    """Re-add `stream`'s archived entries written between `since` and `until` (by entry id time) to
    `to_stream` (default: `stream`), with new entry ids and the same fields; how many were added.

    Entries still in `stream` (archived just before a trim that did not happen) are left out.
    """
    target = to_stream or stream
    first = await redis.xrange(stream, count=1)
    still_there = entry_id_order(as_text(first[0][0])) if first else None
    low, high = _millis(since), _millis(until)
    seen: set[str] = set()
    added = 0
    batch: list[dict[str, str]] = []
    async for entry in archive.entries(stream):
        order = entry_id_order(entry.entry_id)
        if entry.entry_id in seen or (still_there is not None and order >= still_there):
            continue
        if (low is not None and order[0] < low) or (high is not None and order[0] > high):
            continue
        seen.add(entry.entry_id)
        batch.append(entry.fields)
        if len(batch) == RESTORE_BATCH:
            added += await _add(redis, target, batch)
            batch = []
    return added + (await _add(redis, target, batch) if batch else 0)


async def _add(redis: AnyRedis, stream: str, batch: list[dict[str, str]]) -> int:
    async with redis.pipeline(transaction=False) as pipe:
        for fields in batch:
            pipe.xadd(stream, dict[Any, Any](fields))
        await pipe.execute()
    return len(batch)
