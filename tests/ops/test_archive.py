"""Retention without loss: a lagging group loses nothing to trimming (stream plus archive hold every
event), in a directory and in S3 (moto), and `videohooks archive restore` puts the events back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from redis.asyncio import Redis
from typer import Typer
from typer.testing import CliRunner, Result

from receiver.assets.store import key_segment
from receiver.cli import app as cli
from receiver.config import ConfigError, RetentionConfig, parse_config
from receiver.core.publisher import Publisher
from receiver.foundation.asset_settings import StoreConfig
from receiver.foundation.keys import KeySpace
from receiver.services.archive import Archive
from receiver.services.retention import check_all
from schemas.event import CanonicalEvent, event_to_json
from schemas.normalizing import DeliveryContext, build_event
from tests.support import read_stream
from tests.support.s3server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server


def event(number: int) -> CanonicalEvent:
    ctx = DeliveryContext("arc-src", "memories", datetime.now(UTC), None)
    return build_event(ctx, task_id=f"t-{number}", task_type="description", status="succeeded")


def s3_archive(server: S3Server) -> dict[str, Any]:
    bucket = f"archive-{uuid.uuid4().hex[:12]}"
    server.create_bucket(bucket)
    return {
        "store": f"s3://{bucket}/videohooks/archive",
        "s3_endpoint": server.endpoint,
        "s3_region": REGION,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
    }


def stream_events(client: redis.Redis, stream: str) -> list[bytes]:
    return [fields[b"event"] for _, fields in read_stream(client, stream)]


@pytest.fixture(params=["directory", "s3"])
def archive_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param == "directory":
        return {"store": str(tmp_path / "archive")}
    return s3_archive(request.getfixturevalue("s3_server"))


async def test_a_group_that_read_nothing_loses_nothing_and_restore_brings_it_back(
    aredis: Redis,
    rclient: redis.Redis,
    prefix: str,
    redis_url: str,
    tmp_path: Path,
    archive_settings: dict[str, Any],
) -> None:
    keys = KeySpace(prefix)
    stream = keys.events(0)
    published = [event(number) for number in range(30)]
    publisher = Publisher(aredis, keys, 3600)
    for item in published:
        await publisher.publish(item)
    await aredis.xgroup_create(stream, "weekend", id="0")  # down since before the first event
    retention = RetentionConfig.model_validate({"maxlen": 10, "archive": archive_settings})
    assert retention.archive is not None
    [report, _] = await check_all(aredis, keys, retention, Archive(retention.archive))
    assert (report.trimmed, report.archived, report.length, report.held_back) == (20, 20, 10, 0)
    archived = [entry async for entry in Archive(retention.archive).entries(stream)]
    everything = [entry.fields["event"].encode() for entry in archived] + stream_events(rclient, stream)
    assert everything == [event_to_json(item) for item in published]
    assert archived[0].fields["event_id"] == published[0].event_id and archived[0].stream == stream

    config = tmp_path / "videohooks.toml"
    retention_table = {"maxlen": 10, "archive": archive_settings}
    config.write_bytes(toml({"redis": {"url": redis_url, "prefix": prefix, "retention": retention_table}}))
    result = await restore_command(cli, ["archive", "restore", "--stream", stream, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"restored 20 events to {stream}"
    restored = read_stream(rclient, stream)[10:]
    assert [fields[b"event"] for _, fields in restored] == [event_to_json(item) for item in published[:20]]
    assert restored[0][1][b"event_id"] == published[0].event_id.encode()
    assert restored[0][1][b"schema_version"] == b"2"


async def test_restore_to_another_stream_between_two_times(
    aredis: Redis, rclient: redis.Redis, prefix: str, redis_url: str, tmp_path: Path
) -> None:
    stream = KeySpace(prefix).events(0)
    for millis in (1000, 2000, 3000, 4000):
        await aredis.xadd(stream, {"event": orjson.dumps({"n": millis}), "source": "s"}, id=f"{millis}-0")
    archive = Archive(StoreConfig(store=str(tmp_path / "a")))
    [report, _] = await check_all(
        aredis,
        KeySpace(prefix),
        RetentionConfig(min_age_seconds=60, archive={"store": str(tmp_path / "a")}),
        archive,
    )
    assert report.trimmed == 4 and rclient.xlen(stream) == 0
    config = tmp_path / "videohooks.toml"
    retention = {"min_age_seconds": 60, "archive": str(tmp_path / "a")}
    config.write_bytes(toml({"redis": {"url": redis_url, "prefix": prefix, "retention": retention}}))
    result = await restore_command(
        cli,
        [
            "archive", "restore", "--stream", stream, "--to-stream", f"{prefix}:again",
            "--config", str(config), "--since", "1970-01-01T00:00:02Z", "--until", "1970-01-01T00:00:03",
        ],
    )  # fmt: skip
    assert result.stdout.strip() == f"restored 2 events to {prefix}:again", result.output
    assert [orjson.loads(e) for e in stream_events(rclient, f"{prefix}:again")] == [{"n": 2000}, {"n": 3000}]
    bad = await restore_command(
        cli, ["archive", "restore", "--stream", stream, "--since", "yesterday", "--config", str(config)]
    )
    assert bad.exit_code == 2 and "--since 'yesterday' is not an RFC 3339 time" in bad.output


async def test_nothing_is_trimmed_while_the_archive_cannot_be_written(
    aredis: Redis, rclient: redis.Redis, prefix: str, tmp_path: Path
) -> None:
    keys = KeySpace(prefix)
    for number in range(5):
        await Publisher(aredis, keys, 3600).publish(event(number))
    root = tmp_path / "archive"
    root.mkdir()
    (root / key_segment(keys.events(0))).write_text("a file where the stream's folder should be")
    retention = RetentionConfig(maxlen=1, archive={"store": str(root)})
    assert retention.archive is not None
    [report, _] = await check_all(aredis, keys, retention, Archive(retention.archive))
    assert (report.trimmed, report.archived) == (0, 0)
    assert rclient.xlen(keys.events(0)) == 5


def test_archive_settings_are_a_location_or_a_table_and_refused_by_key() -> None:
    short = parse_config({"redis": {"retention": {"archive": "var/archive"}}}).redis.retention
    assert short.archive is not None and (short.archive.kind, short.archive.directory) == (
        "local",
        "var/archive",
    )
    table = {"store": "s3://bucket/p", "s3_region": "eu-west-1"}
    full = parse_config({"redis": {"retention": {"archive": table}}}).redis.retention
    assert full.archive is not None and (full.archive.bucket, full.archive.prefix) == ("bucket", "p")
    assert full.trim_undelivered is False
    with pytest.raises(ConfigError, match=r"redis\.retention\.archive\.store: .*gs:// is not a store"):
        parse_config({"redis": {"retention": {"archive": "gs://bucket"}}})


async def restore_command(app: Typer, args: list[str]) -> Result:
    """`videohooks archive restore` in a thread: it runs its own event loop, as from a shell."""
    return await asyncio.to_thread(CliRunner().invoke, app, args)


def toml(data: dict[str, Any]) -> bytes:
    """A TOML file of nested tables with string and int values (what these tests write)."""
    lines: list[str] = []

    def table(path: list[str], values: dict[str, Any]) -> None:
        if path:
            lines.append(f"[{'.'.join(path)}]")
        for key, value in values.items():
            if not isinstance(value, dict):
                lines.append(f"{key} = {orjson.dumps(value).decode()}")
        for key, value in values.items():
            if isinstance(value, dict):
                table([*path, key], value)

    table([], data)
    return "\n".join(lines).encode() + b"\n"
