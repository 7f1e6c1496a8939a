"""Replay: stored fixtures, re-signed and sent to a live receiver, or run straight through the pipeline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import redis
from redis.asyncio import Redis
from typer.testing import CliRunner

from receiver.cli import app
from receiver.config import load_config
from receiver.core.publisher import Publisher
from receiver.foundation.keys import KeySpace
from receiver.services.fixtures import load_fixture
from receiver.services.replay import replay_direct
from schemas.normalizing import DeliveryContext, build_event
from tests.support import FIXTURES, live_receiver, stream_entries, stream_events

MEMORIES = FIXTURES / "memories"
ACCEPTED = 9  # fixtures/memories holds nine accepted deliveries and two quarantined ones


def test_replay_direct_publishes_each_fixture_once(
    config_file: Path, rclient: redis.Redis, prefix: str
) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["replay", str(MEMORIES), "--direct", "--config", str(config_file)])
    assert first.exit_code == 0, first.output
    assert "accepted" in first.output
    assert len(stream_entries(rclient, f"{prefix}:events")) == ACCEPTED
    assert len(stream_entries(rclient, f"{prefix}:dlq")) == 2

    again = runner.invoke(app, ["replay", str(MEMORIES), "--direct", "--config", str(config_file)])
    assert again.exit_code == 0
    assert "duplicate" in again.output
    assert len(stream_entries(rclient, f"{prefix}:events")) == ACCEPTED


def test_replay_to_a_live_receiver_signs_with_the_current_secret(
    config_file: Path, rclient: redis.Redis, prefix: str
) -> None:
    with live_receiver(config_file) as receiver:
        result = CliRunner().invoke(
            app, ["replay", str(MEMORIES), "--to", receiver.url, "--config", str(config_file)]
        )
        assert result.exit_code == 0, result.output
        # The same fixtures again to a url-token source under another id fail authentication nowhere,
        # but a source of another scheme signs them its own way.
        signed = CliRunner().invoke(
            app,
            [
                "replay",
                str(MEMORIES / "success.json"),
                "--to",
                receiver.url,
                "--config",
                str(config_file),
                "--source",
                "memories-signed",
            ],
        )
        assert signed.exit_code == 0, signed.output
    events = stream_entries(rclient, f"{prefix}:events")
    assert len(events) == ACCEPTED + 1
    assert {entry["source"] for entry in events} == {b"memories-main", b"memories-signed"}


def test_replay_refuses_unknown_source_and_bad_usage(config_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["replay", str(MEMORIES), "--direct", "--config", str(config_file), "--source", "nowhere"]
    )
    assert result.exit_code == 2
    assert "'nowhere' is not in the configuration" in result.output
    assert runner.invoke(app, ["replay", str(MEMORIES), "--config", str(config_file)]).exit_code == 2
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result = runner.invoke(app, ["replay", str(bad), "--direct", "--config", str(config_file)])
    assert result.exit_code == 2
    assert "a fixture is a JSON object" in result.output


def test_replay_reports_refused_deliveries_with_exit_1(config_file: Path, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(config_file.read_text().replace("test-token-", "other-token-"))
    with live_receiver(config_file) as receiver:
        result = CliRunner().invoke(
            app, ["replay", str(MEMORIES / "success.json"), "--to", receiver.url, "--config", str(wrong)]
        )
    assert result.exit_code == 1
    assert "invalid_token" in result.output


def test_replay_direct_publishes_api_task_objects_and_replay_to_skips_them(
    tmp_path: Path, prefix: str, redis_url: str, rclient: redis.Redis
) -> None:
    """Resource fixtures (a provider API's answer to a poll) are decoded as such by --direct; over HTTP
    they are no callback, so they are skipped without failing the run, and `sign` refuses them."""
    config = tmp_path / "relay.toml"
    config.write_text(
        f'[redis]\nurl = "{redis_url}"\nprefix = "{prefix}"\n\n[[sources]]\nid = "veo-relay"\n'
        'provider = "openai-compatible"\napi_base_url = "https://relay.example.com"\napi_key = "k"\n'
    )
    relay = FIXTURES / "openai-compatible"
    fixtures = [load_fixture(path) for path in relay.glob("*.json")]
    accepted = sum(1 for fixture in fixtures if fixture.expected_outcome == "accepted")
    reasons = sorted(
        str(fixture.expected_reason) for fixture in fixtures if fixture.expected_outcome == "quarantined"
    )
    direct = CliRunner().invoke(app, ["replay", str(relay), "--direct", "--config", str(config)])
    assert direct.exit_code == 0, direct.output
    # Several fixtures share a task and status: one event each, the rest duplicates.
    published = {(entry["task_id"], entry["status"]) for entry in stream_entries(rclient, f"{prefix}:events")}
    assert len(published) == len(stream_entries(rclient, f"{prefix}:events")) > 0
    assert len(published) <= accepted
    assert sorted(entry["reason"].decode() for entry in stream_entries(rclient, f"{prefix}:dlq")) == reasons

    over_http = CliRunner().invoke(
        app, ["replay", str(relay / "queued.json"), "--to", "http://127.0.0.1:9", "--config", str(config)]
    )
    assert over_http.exit_code == 0, over_http.output
    assert "skipped_not_a_callback" in over_http.output

    with_twelvelabs = tmp_path / "tl.toml"
    with_twelvelabs.write_text(
        config.read_text()
        + '\n[[sources]]\nid = "twelvelabs-main"\nprovider = "twelvelabs"\nsecrets = ["tl_test_secret"]\n'
    )
    task = FIXTURES / "twelvelabs" / "task-ready-stop.json"
    signed = CliRunner().invoke(
        app, ["sign", str(task), "--url", "http://x", "--config", str(with_twelvelabs)]
    )
    assert signed.exit_code == 2
    assert "not a callback" in signed.output


def relay_config(tmp_path: Path, prefix: str, redis_url: str) -> Path:
    """A configuration of one OpenAI-compatible relay source, `veo-relay`, for stored task objects."""
    config = tmp_path / "relay.toml"
    config.write_text(
        f'[redis]\nurl = "{redis_url}"\nprefix = "{prefix}"\n\n[[sources]]\nid = "veo-relay"\n'
        'provider = "openai-compatible"\napi_base_url = "https://relay.example.com"\napi_key = "k"\n'
    )
    return config


def relay_fixture(task_id: str, status: str) -> bytes:
    body = {"id": task_id, "object": "video", "model": "veo3.1", "status": status}
    return orjson.dumps(
        {"source": "veo-relay", "provider": "openai-compatible", "kind": "resource", "body": body}
    )


async def test_replay_direct_names_the_event_that_completes_an_incomplete_one(
    tmp_path: Path, prefix: str, redis_url: str, rclient: redis.Redis
) -> None:
    """A replayed file whose status is held by an incomplete event completes it under a new event id,
    and the replay reports that id, the one in the stream."""
    ctx = DeliveryContext("veo-relay", "openai-compatible", datetime.now(UTC))
    cut = build_event(ctx, task_id="video_1", task_type="generation", status="succeeded", truncated=True)
    client = Redis.from_url(redis_url)
    assert (await Publisher(client, KeySpace(prefix), 3600).publish(cut)).outcome == "accepted"
    await client.aclose()
    stored = tmp_path / "completed.json"
    stored.write_bytes(relay_fixture("video_1", "completed"))

    [result] = await replay_direct(load_config(relay_config(tmp_path, prefix, redis_url)), [stored])

    first, complete = stream_events(rclient, f"{prefix}:events")
    assert complete["extensions"]["supersedes"] == first["event_id"] == cut.event_id
    assert (result.outcome, result.event_id) == ("accepted", complete["event_id"])


def test_replay_direct_keeps_file_order_within_a_task(
    tmp_path: Path, prefix: str, redis_url: str, rclient: redis.Redis
) -> None:
    """Many fixtures in flight at once must still reach the stream in file order: a task's life replayed
    from its stored polls is queued, running, succeeded, never a `stale` from overtaking. Enough files to
    be decoded in several processes, each task's statuses in chunks far apart."""
    config = relay_config(tmp_path, prefix, redis_url)
    lives = tmp_path / "lives"
    lives.mkdir()
    statuses = ["queued", "in_progress", "completed"]
    tasks = 700
    for task in range(tasks):
        for step, status in enumerate(statuses):
            (lives / f"{step}-{task:04d}.json").write_bytes(relay_fixture(f"video_{task:04d}", status))
    result = CliRunner().invoke(app, ["replay", str(lives), "--direct", "--config", str(config)])
    assert result.exit_code == 0, result.output
    entries = stream_entries(rclient, f"{prefix}:events")
    assert len(entries) == 3 * tasks
    by_task: dict[bytes, list[bytes]] = {}
    for entry in entries:
        by_task.setdefault(entry["task_id"], []).append(entry["status"])
    assert set(map(tuple, by_task.values())) == {(b"queued", b"running", b"succeeded")}
