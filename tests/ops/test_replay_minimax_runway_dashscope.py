"""`videohooks replay --direct` runs the minimax, runway and dashscope fixtures through the pipeline."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import redis
from typer.testing import CliRunner

from receiver.cli import app
from receiver.services.fixtures import fixture_paths, load_fixture
from tests.support import API_KEY, FIXTURES, TOKEN, stream_entries

CONFIG = """
[redis]
url = "{redis_url}"
prefix = "{prefix}"

[[sources]]
id = "minimax-main"
provider = "minimax"
secrets = ["{token}"]
api_key = "{key}"

[[sources]]
id = "minimax-open"
provider = "minimax"
secrets = ["{token}"]

[[sources]]
id = "runway-main"
provider = "runway"
api_key = "{key}"

[[sources]]
id = "dashscope-main"
provider = "dashscope"
api_key = "{key}"
"""


@pytest.mark.parametrize("provider", ["minimax", "runway", "dashscope"])
def test_replay_direct_publishes_the_expected_events(
    provider: str, tmp_path: Path, prefix: str, redis_url: str, rclient: redis.Redis
) -> None:
    config = tmp_path / "videohooks.toml"
    config.write_text(CONFIG.format(redis_url=redis_url, prefix=prefix, token=TOKEN, key=API_KEY))
    fixtures = [load_fixture(path) for path in fixture_paths([FIXTURES / provider])]
    result = CliRunner().invoke(
        app, ["replay", str(FIXTURES / provider), "--direct", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output

    # Fixtures share tasks: later ones may be duplicates or stale; whatever is published is expected.
    expected = [fixture.expected for fixture in fixtures if fixture.expected is not None]
    events = [orjson.loads(entry["event"]) for entry in stream_entries(rclient, f"{prefix}:events")]
    assert events
    for event in events:
        del event["received_at"]
        assert event in expected
    reasons = sorted(
        fixture.expected_reason or "" for fixture in fixtures if fixture.expected_outcome == "quarantined"
    )
    assert sorted(entry["reason"].decode() for entry in stream_entries(rclient, f"{prefix}:dlq")) == reasons
