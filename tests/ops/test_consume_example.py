"""The README's consumer example reads published events through a consumer group, at least once."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import redis
from typer.testing import CliRunner

from examples.consume import events
from receiver.cli import app
from tests.support import FIXTURES


def publish(config_file: Path, *names: str) -> None:
    paths = [str(FIXTURES / "memories" / name) for name in names]
    result = CliRunner().invoke(app, ["replay", *paths, "--direct", "--config", str(config_file)])
    assert result.exit_code == 0, result.output


def test_the_example_yields_each_published_event_and_acknowledges_it(
    config_file: Path, rclient: redis.Redis, prefix: str
) -> None:
    publish(config_file, "success.json", "unicode.json")
    stream = f"{prefix}:events"
    read = list(events(rclient, [stream], "billing", "worker-1", block_ms=50, stop_when_idle=True))
    assert [(event["task_id"], event["status"]) for event in read] == [
        ("ec24f1b2a0c94d6e8f7a", "succeeded"),
        ("unicode-task", "succeeded"),
    ]
    assert read[0]["usage"]["input_tokens"] == 5400
    assert rclient.xpending(stream, "billing")["pending"] == 0
    # Another service has its own group and sees the same events.
    other = list(events(rclient, [stream], "search", "worker-1", block_ms=50, stop_when_idle=True))
    assert [event["event_id"] for event in other] == [event["event_id"] for event in read]


def test_an_event_not_finished_is_delivered_again_to_the_restarted_worker(
    config_file: Path, rclient: redis.Redis, prefix: str
) -> None:
    publish(config_file, "success.json")
    stream = f"{prefix}:events"
    crashed = events(rclient, [stream], "billing", "worker-1", block_ms=50, stop_when_idle=True)
    first = next(crashed)
    assert isinstance(crashed, Generator)
    crashed.close()  # the worker dies while using the event: it is never acknowledged
    assert rclient.xpending(stream, "billing")["pending"] == 1

    publish(config_file, "unicode.json")
    restarted = list(events(rclient, [stream], "billing", "worker-1", block_ms=50, stop_when_idle=True))
    assert restarted[0]["event_id"] == first["event_id"]
    assert [event["task_id"] for event in restarted] == ["ec24f1b2a0c94d6e8f7a", "unicode-task"]
    assert rclient.xpending(stream, "billing")["pending"] == 0
