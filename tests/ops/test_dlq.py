"""Dead letters: quarantined deliveries listed, shown, and redriven through schemas shipped later."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import redis
from pydantic import BaseModel
from redis.asyncio import Redis
from starlette.testclient import TestClient
from typer.testing import CliRunner

from receiver.cli import app as cli
from receiver.config import Config, parse_config
from receiver.core.publisher import Publisher
from receiver.flow.pipeline import Pipeline
from receiver.foundation.keys import KeySpace
from receiver.http.app import create_app
from receiver.providers import PROVIDER_SCHEMAS
from receiver.services.dlq import DeadLetters
from schemas.event import CanonicalEvent
from schemas.normalizing import DeliveryContext, build_event
from schemas.provider import SchemaVersion
from tests.support import TOKEN, free_port, stream_events
from tests.support.config import config_dict

ADMIN = "admin-token-for-dlq-tests"


class LegacyDone(BaseModel):
    """A payload shape v1 does not know: what a 'v2' shipped after the deliveries arrived accepts."""

    job: str
    state: str


def normalize_legacy(payload: LegacyDone, ctx: DeliveryContext) -> CanonicalEvent:
    return build_event(
        ctx, task_id=payload.job, task_type="description", status="succeeded", text=payload.state
    )


NEWER_SCHEMAS = {
    **PROVIDER_SCHEMAS,
    "memories": dataclasses.replace(
        PROVIDER_SCHEMAS["memories"],
        versions=(SchemaVersion(2, LegacyDone, normalize_legacy), *PROVIDER_SCHEMAS["memories"].versions),
    ),
}


def legacy_body(job: str) -> bytes:
    return orjson.dumps({"job": job, "state": "done"})


@pytest.fixture
def dlq_config(prefix: str, redis_url: str) -> Config:
    settings = config_dict(prefix, redis_url)
    settings["redis"] = {"url": redis_url, "prefix": prefix, "partitions": 3}
    settings["admin"] = {"token": ADMIN}
    return parse_config(settings)


@pytest.fixture
def dlq_client(dlq_config: Config) -> Iterator[TestClient]:
    with TestClient(create_app(dlq_config)) as client:
        yield client


def quarantine(client: TestClient, body: bytes) -> None:
    answer = client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=body, headers={"webhook-id": "w1"})
    assert answer.json()["status"] == "quarantined"


def all_events(client: redis.Redis, keys: KeySpace) -> list[dict[str, object]]:
    return [event for stream in keys.all_events() for event in stream_events(client, stream)]


async def test_redrive_publishes_what_a_newer_schema_decodes_once(
    dlq_client: TestClient, dlq_config: Config, aredis: Redis, rclient: redis.Redis
) -> None:
    jobs = [f"job-{number}" for number in range(6)]
    for job in jobs:
        quarantine(dlq_client, legacy_body(job))
    quarantine(dlq_client, b'{"still": "unknown"}')
    keys = KeySpace(dlq_config.redis.prefix, partitions=3)
    # Spread over partitions: redrive must look in every dead-letter stream.
    assert sum(1 for key in keys.all_dlq() if rclient.xlen(key)) >= 2
    assert sum(rclient.xlen(key) for key in keys.all_dlq()) == 7
    letters = DeadLetters(aredis, keys)
    pipeline = Pipeline(Publisher(aredis, keys, 3600), schemas=NEWER_SCHEMAS)

    results = await letters.redrive(dlq_config, pipeline, None, delete=False)
    outcomes = sorted(result.outcome for result in results)
    assert outcomes == ["accepted"] * 6 + ["still_quarantined"]
    events = all_events(rclient, keys)
    assert sorted(str(event["task_id"]) for event in events) == jobs
    # The redriven event keeps the delivery's original arrival time and delivery id.
    assert {event["delivery_id"] for event in events} == {None}
    # Nothing was copied: the failing entry stays once, the redriven ones stay, marked.
    assert sum(rclient.xlen(key) for key in keys.all_dlq()) == 7
    marked = [letter for letter in await letters.scan() if letter.redriven]
    assert len(marked) == 6 and all(str(letter.redriven).startswith("accepted ") for letter in marked)

    # Again: --all skips what was redriven; naming the entries publishes nothing new either.
    again = await letters.redrive(dlq_config, pipeline, None, delete=False)
    assert [result.outcome for result in again] == ["still_quarantined"]
    named = await letters.redrive(dlq_config, pipeline, [letter.entry_id for letter in marked], delete=True)
    assert {result.outcome for result in named} == {"duplicate"}
    assert len(all_events(rclient, keys)) == 6
    # With delete, redriven entries are gone; the failing one is still there, alone.
    [left] = await letters.scan()
    assert left.body == b'{"still": "unknown"}' and left.redriven is None


async def test_partitions_holding_the_same_stream_id_are_told_apart(
    dlq_client: TestClient, dlq_config: Config, aredis: Redis, rclient: redis.Redis
) -> None:
    """Each partition's stream numbers its entries on its own: two deliveries quarantined in the same
    millisecond can share a stream id, so an entry is named with its partition."""
    keys = KeySpace(dlq_config.redis.prefix, partitions=3)
    for partition, job in ((0, "job-zero"), (2, "job-two")):
        rclient.xadd(
            keys.dlq(partition),
            {"source": "memories-main", "reason": "unknown_schema_version", "body": legacy_body(job)},
            id="1700000000000-0",
        )
    letters = DeadLetters(aredis, keys)
    assert sorted(letter.entry_id for letter in await letters.scan()) == [
        "1700000000000-0@0",
        "1700000000000-0@2",
    ]
    two = await letters.get("1700000000000-0@2")
    assert two is not None and two.body == legacy_body("job-two") and two.stream_id == "1700000000000-0"
    assert await letters.get("1700000000000-0@1") is None
    assert await letters.get("1700000000000-0@3") is None
    assert await letters.get("1700000000000-0@02") is None  # a partition written one way only
    auth = {"authorization": f"Bearer {ADMIN}"}
    # An id no stream could hold is not found, not Redis's refusal (which would be 503).
    for beyond in (f"{2**64}-0", f"1700000000000-{2**64}@2"):
        assert dlq_client.get(f"/v1/dlq/{beyond}", headers=auth).status_code == 404
    ambiguous = dlq_client.get("/v1/dlq/1700000000000-0", headers=auth)
    assert ambiguous.status_code == 409
    assert ambiguous.json()["error"] == {
        "code": "ambiguous_entry_id",
        "message": "'1700000000000-0' names 1700000000000-0@0 and 1700000000000-0@2: give one of them",
    }
    # Named among others for a redrive, it refuses the whole request before any entry is redriven.
    refused = dlq_client.post(
        "/v1/dlq/redrive", headers=auth, json={"ids": ["1700000000000-0@2", "1700000000000-0"]}
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "ambiguous_entry_id")
    assert all_events(rclient, keys) == []

    pipeline = Pipeline(Publisher(aredis, keys, 3600), schemas=NEWER_SCHEMAS)
    # Named twice, it is redriven once.
    [result] = await letters.redrive(
        dlq_config, pipeline, ["1700000000000-0@2", "1700000000000-0@2"], delete=True
    )
    assert (result.entry_id, result.outcome) == ("1700000000000-0@2", "accepted")
    assert [str(event["task_id"]) for event in all_events(rclient, keys)] == ["job-two"]
    # Only partition 2's entry went: the bare id now names the one left.
    [left] = await letters.scan()
    assert left.body == legacy_body("job-zero")
    assert await letters.get("1700000000000-0") == left


async def test_redrive_keeps_the_delivery_id_the_verifier_read(
    config: Config, client: TestClient, aredis: Redis, rclient: redis.Redis, prefix: str
) -> None:
    from tests.support.deliveries import signed_headers

    body = legacy_body("signed-job")
    answer = client.post(
        "/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, "msg_dlq")
    )
    assert answer.json()["status"] == "quarantined"
    keys = KeySpace(prefix)
    results = await DeadLetters(aredis, keys).redrive(
        config, Pipeline(Publisher(aredis, keys, 3600), schemas=NEWER_SCHEMAS), None, delete=False
    )
    assert [result.outcome for result in results] == ["accepted"]
    [event] = stream_events(rclient, f"{prefix}:events")
    assert event["delivery_id"] == "msg_dlq"
    assert datetime.fromisoformat(str(event["received_at"])) < datetime.now(UTC)


def test_admin_routes_list_show_and_redrive(dlq_client: TestClient) -> None:
    quarantine(dlq_client, b'{"not": "an event"}')
    auth = {"authorization": f"Bearer {ADMIN}"}
    assert dlq_client.get("/v1/dlq").status_code == 401
    assert dlq_client.get("/v1/dlq", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert dlq_client.get("/v1/dlq?limit=0", headers=auth).json()["error"]["code"] == "invalid_limit"

    [entry] = dlq_client.get("/v1/dlq?source=memories-main", headers=auth).json()["entries"]
    assert entry["reason"] == "unknown_schema_version" and entry["size"] == 19
    assert dlq_client.get("/v1/dlq?source=other", headers=auth).json()["entries"] == []
    shown = dlq_client.get(f"/v1/dlq/{entry['entry_id']}", headers=auth).json()
    assert shown["body"] == {"text": '{"not": "an event"}'}
    assert shown["headers"]["webhook-id"] == "w1"
    assert dlq_client.get("/v1/dlq/1-1", headers=auth).status_code == 404
    assert dlq_client.get("/v1/dlq/nonsense", headers=auth).status_code == 404

    # The running app decodes with the registry it was built with: still no schema for this body.
    redriven = dlq_client.post(
        "/v1/dlq/redrive", headers=auth, json={"ids": [entry["entry_id"], "2-2"]}
    ).json()
    assert [(r["outcome"], r["entry_id"]) for r in redriven["results"]] == [
        ("still_quarantined", entry["entry_id"]),
        ("not_found", "2-2"),
    ]
    bad = dlq_client.post("/v1/dlq/redrive", headers=auth, json={"ids": "all"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_request")


def test_cli_list_show_and_redrive(
    dlq_client: TestClient, dlq_config: Config, tmp_path: Path, redis_url: str
) -> None:
    quarantine(dlq_client, b'{"cli": true}')
    config = tmp_path / "videohooks.toml"
    config.write_text(
        f'[redis]\nurl = "{redis_url}"\nprefix = "{dlq_config.redis.prefix}"\npartitions = 3\n'
        f'[[sources]]\nid = "memories-main"\nprovider = "memories"\nsecrets = ["{TOKEN}"]\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    listed = runner.invoke(cli, ["dlq", "list", "--json", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    [entry] = [orjson.loads(line) for line in listed.stdout.splitlines()]
    shown = runner.invoke(cli, ["dlq", "show", entry["entry_id"], "--config", str(config)])
    assert orjson.loads(shown.stdout)["body"] == {"text": '{"cli": true}'}
    assert runner.invoke(cli, ["dlq", "show", "9-9", "--config", str(config)]).exit_code == 1
    redriven = runner.invoke(cli, ["dlq", "redrive", "--all", "--config", str(config)])
    # Tried, not redriven: the summary counts outcomes; the row (tab-separated in a pipe) keeps the id.
    assert redriven.exit_code == 1 and "1 entry: 1 not redriven (1 still_quarantined)" in redriven.output
    assert f"{entry['entry_id']}\tmemories-main\tstill_quarantined\t" in redriven.stdout
    relisted = runner.invoke(cli, ["dlq", "list", "--json", "--config", str(config)])
    assert [orjson.loads(line)["entry_id"] for line in relisted.stdout.splitlines()] == [entry["entry_id"]]
    assert runner.invoke(cli, ["dlq", "redrive", "--config", str(config)]).exit_code == 2


def test_cli_says_when_redis_is_unreachable(config_file: Path) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    listed = CliRunner().invoke(cli, ["dlq", "list", "--config", str(config_file), "--redis-url", nowhere])
    assert listed.exit_code == 1
    assert "redis did not answer XRANGE: ConnectionError (" in listed.output
    assert "connecting to 127.0.0.1" in listed.output
