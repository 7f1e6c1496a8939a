"""videohooks behind Redis Sentinel: a master, a replica and a sentinel on loopback ports.

The receiver asks the sentinel for the master; after `SENTINEL FAILOVER` the old master is a replica,
so a write on an old connection fails (503, the provider retries) and the next one reaches the new
master. Until the sentinel demotes it, the old master still takes writes that the promoted one will
never see: `wait_replicas = 1` refuses those (no replica follows the old master any more), which is
why the failover test runs with it and finds every accepted delivery on the new master. The same
set-up checks `wait_replicas` on a single master (WAIT on the writing connection).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
import redis
from starlette.testclient import TestClient

from receiver.config import Config, ConfigError, parse_config
from receiver.http.app import create_app
from tests.support import read_stream
from tests.support.cluster import LocalSentinel, running
from tests.support.config import config_dict
from tests.support.deliveries import memories_body, signed_headers
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSentinel]:
    with running(LocalSentinel(tmp_path_factory.mktemp("sentinel"))) as local:
        yield local


def deliver_until_accepted(client: TestClient, index: int, timeout: float) -> tuple[str, int]:
    """A delivery retried on 503 as a provider would; its outcome and how many 503s it met."""
    body = memories_body(f"sentinel-task-{index}")
    answers: list[httpx.Response] = []

    def accepted() -> bool:
        answer: httpx.Response = client.post(
            "/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, f"s-{index}")
        )
        assert answer.status_code in (202, 503), answer.text
        answers.append(answer)
        return answer.status_code == 202

    wait_until(accepted, timeout=timeout)
    return str(answers[-1].json()["status"]), len(answers) - 1


def sentinel_config(sentinel: LocalSentinel, prefix: str, **redis: object) -> Config:
    data = config_dict(prefix)
    data["redis"] = {"prefix": prefix, "sentinel": [sentinel.address], **redis}
    return parse_config(data)


def test_wait_replicas_answers_503_until_the_replica_holds_the_write(
    sentinel: LocalSentinel, prefix: str
) -> None:
    durable = sentinel_config(sentinel, prefix, wait_replicas=1)
    unreachable = sentinel_config(sentinel, prefix, wait_replicas=2, wait_timeout_ms=100)
    with TestClient(create_app(durable)) as client:
        assert deliver_until_accepted(client, 0, 5) == ("accepted", 0)
        assert client.post("/v1/callbacks/memories-open", content=b"[]").json()["status"] == "quarantined"
    body = memories_body("two-replicas")
    with TestClient(create_app(unreachable)) as client:
        answer = client.post(
            "/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "r2")
        )
        assert answer.status_code == 503  # written, but only one replica exists to hold it
    with TestClient(create_app(durable)) as client:
        retry = client.post("/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "r2"))
        assert retry.json()["status"] == "duplicate"


def test_deliveries_are_accepted_before_and_after_a_sentinel_failover(
    sentinel: LocalSentinel, prefix: str
) -> None:
    config = sentinel_config(sentinel, prefix, wait_replicas=1)
    first_master = sentinel.master_port()
    with TestClient(create_app(config)) as client:
        before = [deliver_until_accepted(client, index, 5) for index in range(5)]
        sentinel.failover()
        assert sentinel.master_port() != first_master
        after = [deliver_until_accepted(client, index, 30) for index in range(5, 10)]
        assert client.get("/readyz").status_code == 200

    assert before == [("accepted", 0)] * 5
    assert {outcome for outcome, _refused in after} <= {"accepted", "duplicate"}
    new_master = redis.Redis(port=sentinel.master_port())
    try:
        tasks = [
            orjson.loads(fields[b"event"])["task_id"]
            for _, fields in read_stream(new_master, f"{prefix}:events")
        ]
    finally:
        new_master.close()
    assert tasks == [f"sentinel-task-{index}" for index in range(10)]


@pytest.fixture(scope="module")
def guarded_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSentinel]:
    with running(
        LocalSentinel(
            tmp_path_factory.mktemp("guarded-sentinel"),
            password="master-secret-1",
            sentinel_password="sentinel-secret-2",
        )
    ) as local:
        yield local


def test_password_protected_master_and_sentinels(guarded_sentinel: LocalSentinel, prefix: str) -> None:
    """`password` reaches the master through the sentinels' answer, `sentinel_password` the sentinels;
    without either, nothing is acknowledged: 503, and /readyz says why."""
    both = sentinel_config(
        guarded_sentinel, prefix, password="master-secret-1", sentinel_password="sentinel-secret-2"
    )
    with TestClient(create_app(both)) as client:
        assert client.get("/readyz").status_code == 200
        assert deliver_until_accepted(client, 0, 5) == ("accepted", 0)
    master = guarded_sentinel.master.client()
    try:
        assert master.xlen(f"{prefix}:events") == 1
    finally:
        master.close()

    body = memories_body("no-password")
    for missing in (
        {"sentinel_password": "sentinel-secret-2"},
        {"password": "master-secret-1"},
    ):
        with TestClient(create_app(sentinel_config(guarded_sentinel, prefix, **missing))) as client:
            assert client.get("/readyz").status_code == 503
            answer = client.post(
                "/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "np")
            )
            assert answer.status_code == 503


def test_passwords_without_sentinel_are_refused(prefix: str) -> None:
    data = config_dict(prefix, "redis://127.0.0.1:6379/0")
    data["redis"]["password"] = "x"
    with pytest.raises(ConfigError, match="the URL holds the password"):
        parse_config(data)
