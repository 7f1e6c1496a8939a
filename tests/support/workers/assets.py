"""A receiver's copy worker in a process of its own: runs the due `copy` jobs once, then reports its
peak memory. The asset tests measure it (the test process also serves the bytes) and kill it mid-copy.

    python -m tests.support.workers.assets '{"redis_url": ..., "prefix": ..., "assets": {...}, "lease": 60}'
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import orjson
from redis.asyncio import Redis

from receiver.assets.copier import COPY, Copier
from receiver.assets.download import Trust
from receiver.assets.store import AssetStore
from receiver.core.jobs import JobQueue, JobRunner
from receiver.core.publisher import Publisher
from receiver.foundation.asset_settings import AssetsConfig
from receiver.foundation.keys import KeySpace


def peak_rss_kib() -> int:
    """This process's peak resident set (`VmHWM`). Not `ru_maxrss`: Linux carries that across `exec`
    from the parent, so a child of a big pytest process would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


async def main(settings: dict[str, object]) -> int:
    assets = AssetsConfig.model_validate(settings["assets"])
    redis = Redis.from_url(str(settings["redis_url"]))
    prefix = str(settings["prefix"])
    publisher = Publisher(redis, KeySpace(prefix, 1, False), dedupe_ttl_seconds=3600)
    copier = Copier(assets, AssetStore(assets), publisher, lambda _: Trust(allow_private_networks=True))
    queue = JobQueue(redis, prefix)
    ran = await JobRunner(queue, {COPY: copier}, lease_seconds=float(str(settings["lease"]))).run_due()
    await copier.aclose()
    await redis.aclose()
    return ran


if __name__ == "__main__":
    ran = asyncio.run(main(orjson.loads(sys.argv[1])))
    print(orjson.dumps({"ran": ran, "max_rss_kib": peak_rss_kib()}).decode())
    sys.stdout.flush()
    time.sleep(
        0.2
    )  # obstore's runtime threads settle before the interpreter goes (else a rare abort at exit)
