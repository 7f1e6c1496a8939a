"""videohooks on a real Redis Cluster (three masters, three replicas, started here on loopback ports).

What a cluster changes: every script call must touch one hash slot, partitions must spread over the
shards, a reader must find every partition, and a master can die. The failover test kills a master
with SIGKILL under a load of unique deliveries and checks that every acknowledged delivery is found
exactly once afterwards, and that the receiver answered 503 while it could not write and recovered
by itself once a replica had taken over.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from redis.cluster import RedisCluster as SyncRedisCluster
from redis.crc import key_slot
from starlette.testclient import TestClient

from receiver.config import Config, parse_config
from receiver.core.jobs import Done, Job, JobQueue, JobRunner
from receiver.foundation.keys import KeySpace
from receiver.http.app import create_app
from receiver.wiring.connection import connect, open_pipeline
from schemas.event import CanonicalEvent, Status
from schemas.normalizing import DeliveryContext, build_event
from tests.support import WHSEC, live_receiver, read_stream, write_config
from tests.support.cluster import LocalCluster, running
from tests.support.config import config_dict
from tests.support.deliveries import memories_body, signed_headers
from tests.support.waiting import wait_until

PARTITIONS = 6


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running(LocalCluster(tmp_path_factory.mktemp("cluster"))) as local:
        yield local


@pytest.fixture
def cluster_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def cluster_config(cluster: LocalCluster, prefix: str, **redis: object) -> Config:
    data = config_dict(prefix)
    data["redis"] = {"url": cluster.url, "prefix": prefix, "cluster": True, "partitions": PARTITIONS, **redis}
    return parse_config(data)


@pytest.fixture
def reader(cluster: LocalCluster) -> Iterator[SyncRedisCluster]:
    client = SyncRedisCluster.from_url(cluster.url)
    yield client
    client.close()


def event(task_id: str, status: Status, delivery_id: str | None = None) -> CanonicalEvent:
    ctx = DeliveryContext("memories-open", "memories", datetime.now(UTC), delivery_id)
    return build_event(ctx, task_id=task_id, task_type="description", status=status, delivery_id=delivery_id)


def streams(reader: SyncRedisCluster, keys: KeySpace) -> dict[str, list[dict[str, object]]]:
    """Every partition's events, as a subscriber reading `KeySpace.all_events()` sees them."""
    return {
        key: [orjson.loads(fields[b"event"]) for _, fields in read_stream(reader, key)]
        for key in keys.all_events()
    }


def test_partitions_have_their_own_hash_tags_spread_over_the_masters(cluster: LocalCluster) -> None:
    keys = KeySpace("videohooks", PARTITIONS, cluster=True)
    names = keys.all_events()
    assert len(set(names)) == PARTITIONS
    assert all(name.endswith(f"{{{index}}}") for index, name in enumerate(names))
    # A task's keys share its partition's slot, which is what lets one script call cover them.
    partition = keys.partition("s", "t")
    tagged = [keys.events(partition), keys.task(partition, "s", "t"), keys.dlq(partition)]
    assert len({key_slot(name.encode()) for name in tagged}) == 1
    assert len({cluster.master_of(name).port for name in names}) > 1


async def test_one_batch_over_every_partition_publishes_each_task_in_one_partition_in_order(
    cluster: LocalCluster, cluster_prefix: str, reader: SyncRedisCluster
) -> None:
    config = cluster_config(cluster, cluster_prefix)
    tasks = [f"task-{index}" for index in range(120)]
    async with open_pipeline(config) as (_redis, pipeline):
        publisher = pipeline.publisher
        # All submitted in one tick: one script call per partition, each spanning many tasks.
        firsts = await asyncio.gather(*(publisher.publish(event(task, "queued")) for task in tasks))
        seconds = await asyncio.gather(*(publisher.publish(event(task, "running")) for task in tasks))
        thirds = await asyncio.gather(*(publisher.publish(event(task, "succeeded")) for task in tasks))
        assert {p.outcome for p in [*firsts, *seconds, *thirds]} == {"accepted"}
        # Dedupe and the status order hold on the cluster as on one server.
        assert (await publisher.publish(event("task-0", "succeeded"))).outcome == "duplicate"
        assert (await publisher.publish(event("task-1", "running", "late-retry"))).outcome == "duplicate"
        assert (await publisher.publish(event("task-2", "failed"))).outcome == "stale"

    found = streams(reader, publisher.keys)
    assert all(found.values()), "every partition holds events"
    homes: dict[str, set[str]] = {}
    for key, events in found.items():
        for item in events:
            homes.setdefault(str(item["task_id"]), set()).add(key)
        for task in {str(item["task_id"]) for item in events}:
            assert [e["status"] for e in events if e["task_id"] == task] == ["queued", "running", "succeeded"]
    assert sorted(homes) == sorted(tasks)
    assert all(len(keys) == 1 for keys in homes.values())


def test_the_app_accepts_and_dedupes_deliveries_on_the_cluster(
    cluster: LocalCluster, cluster_prefix: str, reader: SyncRedisCluster
) -> None:
    config = cluster_config(cluster, cluster_prefix)
    with TestClient(create_app(config)) as client:
        outcomes = []
        for index in range(12):
            body = memories_body(f"app-task-{index}")
            for _attempt in range(2):
                answer = client.post(
                    "/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, f"m{index}")
                )
                assert answer.status_code == 202
                outcomes.append(answer.json()["status"])
        quarantined = client.post("/v1/callbacks/memories-open", content=b"{not json").json()
        assert (quarantined["status"], quarantined["reason"]) == ("quarantined", "invalid_json")
        assert client.get("/readyz").status_code == 200
    assert Counter(outcomes) == {"accepted": 12, "duplicate": 12}
    keys = KeySpace(cluster_prefix, PARTITIONS, cluster=True)
    assert sum(len(events) for events in streams(reader, keys).values()) == 12
    assert sum(reader.xlen(key) for key in keys.all_dlq()) == 1


async def test_job_queue_works_on_the_cluster(cluster: LocalCluster, cluster_prefix: str) -> None:
    client = connect(cluster_config(cluster, cluster_prefix), cluster.url)
    queue = JobQueue(client, cluster_prefix)
    ran: list[str] = []

    async def handler(job: Job) -> Done:
        ran.append(job.id)
        return Done()

    try:
        assert await queue.enqueue("a", "k", {"n": 1}, due=time.time() - 1)
        assert not await queue.enqueue("a", "k", {"n": 2})
        assert await queue.enqueue("b", "k", {}, due=time.time() + 3600)
        assert await JobRunner(queue, {"k": handler}).run_due() == 1
        assert ran == ["a"]
        assert await queue.get("a") is None
        assert await queue.count() == 1
    finally:
        await client.aclose()


def test_wait_replicas_acknowledges_only_writes_a_replica_holds(
    cluster: LocalCluster, cluster_prefix: str, reader: SyncRedisCluster
) -> None:
    config = cluster_config(cluster, cluster_prefix, wait_replicas=1, wait_timeout_ms=300)
    with TestClient(create_app(config)) as client:
        body = memories_body("wait-task")
        assert (
            client.post(
                "/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "w1")
            ).json()["status"]
            == "accepted"
        )
        assert client.post("/v1/callbacks/memories-open", content=b"[]").json()["status"] == "quarantined"

    # Asking for more replicas than exist: the write is made but never confirmed, so the answer is
    # 503; the provider's retry then finds it already there and gets 202 duplicate.
    strict = cluster_config(cluster, cluster_prefix, wait_replicas=2, wait_timeout_ms=100)
    with TestClient(create_app(strict)) as client:
        body = memories_body("strict-task")
        first = client.post("/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "w2"))
        assert first.status_code == 503
        assert first.json()["error"]["code"] == "unavailable"
    with TestClient(create_app(config)) as client:
        retry = client.post("/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "w2"))
        assert retry.json()["status"] == "duplicate"


async def _deliver_until_accepted(
    client: httpx.AsyncClient, index: int, answers: list[tuple[int, float]], deadline: float
) -> str:
    """One unique delivery, retried on 503 as a provider would (re-signed each time)."""
    body = memories_body(f"load-{index}")
    while True:
        started = time.monotonic()
        response = await client.post(
            "/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, f"load-msg-{index}")
        )
        answers.append((response.status_code, time.monotonic() - started))
        if response.status_code == 202:
            return str(response.json()["status"])
        assert response.status_code == 503, response.text
        if time.monotonic() > deadline:
            raise TimeoutError(f"delivery {index} still refused after the failover")
        await asyncio.sleep(0.1)


def test_master_failover_under_load_loses_no_acknowledged_delivery(
    cluster: LocalCluster, cluster_prefix: str, reader: SyncRedisCluster, tmp_path: Path
) -> None:
    total, concurrency = 300, 12
    config = write_config(
        tmp_path / "videohooks.toml",
        f"""
[redis]
url = "{cluster.url}"
prefix = "{cluster_prefix}"
cluster = true
partitions = {PARTITIONS}
wait_replicas = 1
wait_timeout_ms = 500

[[sources]]
id = "memories-signed"
provider = "memories"
verify = "standard-webhooks"
secrets = ["{WHSEC}"]
""",
    )
    keys = KeySpace(cluster_prefix, PARTITIONS, cluster=True)
    victim = cluster.master_of(keys.events(0))
    answers: list[tuple[int, float]] = []

    def crash_and_come_back() -> None:
        """The master's machine dies; its replica takes over; the machine returns as the new replica."""
        victim.kill()
        wait_until(lambda: cluster.master_of(keys.events(0)) is not victim, timeout=20)
        victim.start()

    async def load(url: str) -> list[str]:
        deadline = time.monotonic() + 30
        queue = iter(range(total))
        outcomes: list[str] = []
        crashes: list[asyncio.Future[None]] = []

        async def worker(client: httpx.AsyncClient) -> None:
            for index in queue:
                if index == total // 3:
                    crashes.append(asyncio.ensure_future(asyncio.to_thread(crash_and_come_back)))
                outcomes.append(await _deliver_until_accepted(client, index, answers, deadline))

        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        await asyncio.gather(*crashes)
        return outcomes

    try:
        with live_receiver(config) as receiver:
            outcomes = asyncio.run(load(receiver.url))
    finally:
        if victim.process is None:
            victim.start()
    assert len(outcomes) == total
    assert set(outcomes) <= {"accepted", "duplicate"}
    refused = [seconds for status, seconds in answers if status == 503]
    assert refused, "the failover was seen: some deliveries were refused while no master served a slot"
    assert max(seconds for _status, seconds in answers) < 3.0, "a refusal comes promptly, not after retries"
    assert cluster.master_of(keys.events(0)) is not victim

    found = Counter(str(item["delivery_id"]) for events in streams(reader, keys).values() for item in events)
    assert found == Counter({f"load-msg-{index}": 1 for index in range(total)})
