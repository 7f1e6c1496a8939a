"""Floods: per-source token buckets (authentic and refused apart); forgeries cost Redis nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from receiver.config import Config, parse_config
from receiver.core.ratelimit import RateLimits, TokenBucket
from receiver.http.app import create_app
from tests.support import TOKEN, RedisServer
from tests.support.config import config_dict
from tests.support.deliveries import memories_body, signed_headers


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(100.0) == pytest.approx(0.5)
    assert bucket.take(100.25) == pytest.approx(0.25)  # half a token came back, none taken
    assert bucket.take(100.5) == 0.0
    assert bucket.take(1000.0) == 0.0  # refills to the burst, not beyond
    assert [bucket.take(1000.0) for _ in range(2)] == [0.0, 0.0]
    assert bucket.take(1000.0) > 0


def limited_config(prefix: str, redis_url: str) -> Config:
    data = config_dict(prefix, redis_url)
    for source in data["sources"]:
        source["rate_limit_per_second"] = 0.5
        source["rate_limit_burst"] = 3
    return parse_config(data)


def test_unlimited_sources_have_no_buckets(config: Config) -> None:
    limits = RateLimits(config.sources)
    assert all(
        limits.wait("memories-main", authentic, 0.0) == 0 for authentic in (True, False) for _ in range(50)
    )


@pytest.fixture
def limited_client(prefix: str, redis_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(limited_config(prefix, redis_url))) as client:
        yield client


def test_authentic_deliveries_over_the_limit_get_429_with_retry_after(limited_client: TestClient) -> None:
    answers = [
        limited_client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=memories_body(f"rl-{n}"))
        for n in range(4)
    ]
    assert [answer.status_code for answer in answers] == [202, 202, 202, 429]
    assert answers[3].json()["error"]["code"] == "rate_limited"
    assert int(answers[3].headers["retry-after"]) == 2  # one token at 0.5/s


def test_a_forged_flood_does_not_starve_the_provider(limited_client: TestClient) -> None:
    forged = [
        limited_client.post("/v1/callbacks/memories-main/guess", content=memories_body()).status_code
        for _ in range(20)
    ]
    assert forged == [401] * 3 + [429] * 17
    genuine = limited_client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=memories_body("rl-real"))
    assert genuine.json()["status"] == "accepted"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, so that no other client's commands are counted."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


# What a delivery costs Redis, in commands the publish script and the dead-letter write run. The app's
# background loops (job claims, gauges, retention) poll Redis on their own clock with other commands, so
# counting these, rather than every command, tells request work from background work.
DELIVERY_COMMANDS = ("xadd", "exists", "hexists", "hset", "set", "expire")


def delivery_commands(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in DELIVERY_COMMANDS}


def test_unauthentic_floods_cost_no_redis_work(private_redis: RedisServer, prefix: str) -> None:
    config = parse_config(config_dict(prefix, private_redis.url))
    probe = redis.Redis.from_url(private_redis.url)
    forgeries = [
        ("/v1/callbacks/memories-main/not-the-token", {}),
        ("/v1/callbacks/memories-main", {}),
        (
            "/v1/callbacks/memories-signed",
            {"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,x"},
        ),
        ("/v1/callbacks/memories-signed", signed_headers(b"another body")),
        ("/v1/callbacks/memories-tl", {"tl-signature": "t=1,v1=00"}),
        ("/v1/callbacks/no-such-source", {}),
    ]
    with TestClient(create_app(config)) as client:
        before = delivery_commands(probe)
        statuses = {
            client.post(path, content=memories_body(), headers=headers).status_code
            for _ in range(84)
            for path, headers in forgeries
        }
        after = delivery_commands(probe)
    probe.close()
    assert statuses == {401, 404}
    assert after == before
    # The control: one genuine delivery does show up in these counts.
    with TestClient(create_app(config)) as client:
        assert client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=memories_body()).status_code == 202
    probe = redis.Redis.from_url(private_redis.url)
    assert delivery_commands(probe)["xadd"] == before["xadd"] + 1
    probe.close()
