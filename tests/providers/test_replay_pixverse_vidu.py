"""`videohooks replay --to` re-signs the pixverse and vidu fixtures and a live receiver verifies them.

PixVerse is answered 200 `ok` with the outcome in headers, which replay reads; Vidu's signature covers
the callback path, which replay signs as the receiver's route. `httpserver` plays Vidu's task API for
the notifications' fetches.
"""

from __future__ import annotations

from pathlib import Path

import redis
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from receiver.cli import app
from receiver.services.fixtures import fixture_paths, load_fixture
from tests.support import FIXTURES, PIXVERSE_SECRET, VIDU_KEY, live_receiver, stream_entries
from tests.support.waiting import wait_until

CONFIG = """
[redis]
url = "{redis_url}"
prefix = "{prefix}"

[[sources]]
id = "pixverse-main"
provider = "pixverse"
secrets = ["{pixverse_secret}"]

[[sources]]
id = "vidu-main"
provider = "vidu"
api_key = "{vidu_key}"
api_base_url = "{api}"
fetch_retry_seconds = 0.05
"""


def test_replay_to_a_live_receiver_verifies_both_schemes(
    tmp_path: Path, prefix: str, redis_url: str, rclient: redis.Redis, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ent/v2/tasks/820935471265247232/creations").respond_with_json(
        {"state": "processing", "err_code": "", "creations": []}
    )
    config = tmp_path / "videohooks.toml"
    config.write_text(
        CONFIG.format(
            redis_url=redis_url,
            prefix=prefix,
            pixverse_secret=PIXVERSE_SECRET,
            vidu_key=VIDU_KEY,
            api=httpserver.url_for("").rstrip("/"),
        )
    )
    callbacks = [
        fixture
        for provider in ("pixverse", "vidu")
        for fixture in map(load_fixture, fixture_paths([FIXTURES / provider]))
        if fixture.kind == "callback"
    ]
    signed = [f for f in callbacks if f.provider == "pixverse" and f.expected_outcome == "accepted"]
    with live_receiver(config) as receiver:
        for provider in ("pixverse", "vidu"):
            result = CliRunner().invoke(
                app, ["replay", str(FIXTURES / provider), "--to", receiver.url, "--config", str(config)]
            )
            # A replay exits 0 only when every delivery settled: PixVerse's `ok` answers were read from
            # their headers, and Vidu's re-signed request lines verified.
            assert result.exit_code == 0, result.output
            assert "accepted" in result.output
        # Each signed PixVerse body is published; the Vidu notifications (one task) are fetched: running.
        wait_until(lambda: rclient.xlen(f"{prefix}:events") == len(signed) + 1, timeout=10)
    published = {
        (e["source"], e["task_id"], e["status"]) for e in stream_entries(rclient, f"{prefix}:events")
    }
    assert (b"vidu-main", b"820935471265247232", b"running") in published
    dead = [entry["reason"] for entry in stream_entries(rclient, f"{prefix}:dlq")]
    quarantined = [f.expected_reason for f in callbacks if f.expected_outcome == "quarantined"]
    assert sorted(dead) == sorted(reason.encode() for reason in quarantined if reason)
