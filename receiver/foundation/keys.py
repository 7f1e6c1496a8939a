"""Redis key names: one place, so that a Redis Cluster hash tag can be added without touching callers.

A task's events, its status record and its deliveries' dedupe markers all live in one partition, so
that the atomic dedupe-and-publish script touches one hash slot. With one partition on a single Redis
the names are the contract's plain `<prefix>:events` and `<prefix>:dlq`; with several partitions, or
on a cluster, every key carries its partition as a hash tag (`<prefix>:events:{3}`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis, RedisCluster

# Every Redis client the service takes: a single server (or a sentinel's master), or a cluster.
AnyRedis = Redis | RedisCluster


@dataclass(frozen=True, slots=True)
class KeySpace:
    prefix: str = "videohooks"
    partitions: int = 1
    cluster: bool = False

    @property
    def tagged(self) -> bool:
        return self.cluster or self.partitions > 1

    def partition(self, source: str, task_id: str) -> int:
        if self.partitions == 1:
            return 0
        return zlib.crc32(f"{source}\x00{task_id}".encode()) % self.partitions

    def _name(self, kind: str, partition: int) -> str:
        return f"{self.prefix}:{kind}:{{{partition}}}" if self.tagged else f"{self.prefix}:{kind}"

    def events(self, partition: int) -> str:
        return self._name("events", partition)

    def dlq(self, partition: int) -> str:
        return self._name("dlq", partition)

    def dlq_redriven(self, partition: int) -> str:
        return f"{self.dlq(partition)}:redriven"

    def dead_letter_id(self, partition: int, stream_id: str) -> str:
        """What a dead letter is named by: partitions number their entries each on its own, so with
        several the stream id alone can name two entries."""
        return stream_id if self.partitions == 1 else f"{stream_id}@{partition}"

    def task(self, partition: int, source: str, task_id: str) -> str:
        return f"{self._name('task', partition)}:{source}:{task_id}"

    def all_events(self) -> list[str]:
        return [self.events(partition) for partition in range(self.partitions)]

    def all_dlq(self) -> list[str]:
        return [self.dlq(partition) for partition in range(self.partitions)]


def entry_id_order(entry_id: str) -> tuple[int, int]:
    """A stream entry id (`<ms>-<seq>`) as a sortable pair: ids compare numerically, not as text."""
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence or 0)


def as_text(value: Any) -> str:
    """A value of a Redis reply (a key, an entry id, a field) as text: bytes decoded, the rest str()."""
    return value.decode() if isinstance(value, bytes) else str(value)
