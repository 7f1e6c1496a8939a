"""One asset copy the way the copier makes it, in a process of its own: `python -m bench.copy_worker URL DIR`.

`Downloader` (streamed, measured, hashed) into an `AssetStore` on a directory, exactly what
`receiver.assets.copier.Copier` does for one asset, with `allow_private_networks` since the file is on
loopback. Prints one JSON line: bytes, sha256, the seconds from the request to the stored copy, and the
process's resident memory before the copy and at its peak (`VmHWM`), so that the copy's own memory is
the difference.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import httpx
import orjson

from receiver.assets.copier import TIMEOUT
from receiver.assets.download import Downloader, Trust
from receiver.assets.store import AssetStore
from receiver.foundation.asset_settings import AssetsConfig


def status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


async def copy(url: str, directory: str) -> dict[str, object]:
    assets = AssetsConfig(store=directory, allow_private_networks=True)
    store = AssetStore(assets)
    trust = Trust(allow_private_networks=True)
    rss_before_kb = status_kb("VmRSS")
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client:
        downloader = Downloader(client, assets.max_bytes)
        started = time.perf_counter()
        async with downloader.open(url, trust) as (chunks, tally):
            key = store.key("bench", "task", 0, "video", tally.content_type, url)
            await store.put(key, chunks, tally.content_type)
        seconds = time.perf_counter() - started
    return {
        "bytes": tally.bytes,
        "sha256": tally.sha256,
        "seconds": seconds,
        "rss_before_kb": rss_before_kb,
        "vmhwm_kb": status_kb("VmHWM"),
    }


if __name__ == "__main__":
    print(orjson.dumps(asyncio.run(copy(sys.argv[1], sys.argv[2]))).decode(), flush=True)
    # Not a normal exit: obstore's Rust runtime threads, torn down while the interpreter finalizes, abort
    # the process now and then (SIGABRT, exit 134) after a copy that completed.
    os._exit(0)
