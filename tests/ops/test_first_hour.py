"""What a newcomer meets first: the example config, the admin token's floor, replaying every shipped
fixture folder, the embedded Redis's URL, and a CLI that prints provider text as text, keeps ids whole
and counts outcomes truthfully."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import redis
from typer.testing import CliRunner

from receiver.cli import app as cli
from receiver.cli.dlq import redrive_summary
from receiver.config import DEMO_ADMIN_TOKEN, ConfigError, load_config, parse_config
from receiver.core.publisher import Publisher
from receiver.foundation.keys import KeySpace
from receiver.services.fixtures import load_fixtures
from receiver.services.replay import CANNOT_SIGN, NOT_A_CALLBACK, callbacks, source_for, substitutions
from schemas.event import Error
from schemas.normalizing import DeliveryContext, build_event
from tests.support import FIXTURES, ROOT, TOKEN

EXAMPLE = ROOT / "videohooks.example.toml"
runner = CliRunner()

# -- the example configuration


def test_the_example_config_has_the_console_on_with_the_public_demo_token() -> None:
    config = load_config(EXAMPLE)
    assert config.admin.token is not None and config.admin.is_demo
    assert config.admin.token.get_secret_value() == DEMO_ADMIN_TOKEN


@pytest.mark.parametrize("token", ["short", "fifteen-chars-x"])
def test_an_admin_token_under_16_characters_is_refused(token: str) -> None:
    with pytest.raises(ConfigError, match=r"admin\.token: must be at least 16 characters"):
        parse_config({"admin": {"token": token}})
    assert parse_config({"admin": {"token": "sixteen-chars-xx"}}).admin.is_demo is False


def test_every_shipped_fixture_folder_maps_to_a_source_of_the_example_config() -> None:
    config = load_config(EXAMPLE)
    for folder in sorted(path for path in FIXTURES.iterdir() if path.is_dir()):
        posted = callbacks(load_fixtures([folder]))
        for fixture in posted:
            assert source_for(config, fixture, None).provider == fixture.provider
    everything = load_fixtures([FIXTURES])
    moved = substitutions(config, callbacks(everything), None)
    # The suite's own sources are said to go to the example's one source of their provider.
    assert moved[("openai-thin", "openai-main")] > 0 and moved[("ark-api", "ark-main")] > 0
    assert all(named != used for named, used in moved)


def test_a_fixture_of_a_provider_with_two_sources_and_neither_named_is_refused(tmp_path: Path) -> None:
    from receiver.services.replay import ReplayError

    config = parse_config(
        {
            "sources": [
                {"id": "a", "provider": "memories", "secrets": [TOKEN]},
                {"id": "b", "provider": "memories", "secrets": [TOKEN]},
            ]
        }
    )
    [fixture] = load_fixtures([FIXTURES / "memories" / "success.json"])
    with pytest.raises(ReplayError, match="nor is exactly one memories source"):
        source_for(config, fixture, None)


def test_replay_over_http_of_every_fixture_folder_with_the_example_config(tmp_path: Path) -> None:
    """`make run` with the example config, then `replay fixtures/ --to`: every folder goes through,
    what cannot go over HTTP is skipped and counted, and nothing is refused."""
    from tests.support import live_receiver

    config = tmp_path / "videohooks.toml"
    text = EXAMPLE.read_text(encoding="utf-8")
    config.write_text(text.replace('data_dir = "var"', f'data_dir = "{tmp_path / "var"}"'), encoding="utf-8")
    assert 'data_dir = "var"' not in config.read_text(encoding="utf-8")
    with live_receiver(config) as receiver:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "receiver",
                "replay",
                str(FIXTURES),
                "--to",
                receiver.url,
                "--config",
                str(config),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        log = receiver.log()
        lines = [orjson.loads(line) for line in log.splitlines() if line.startswith("{")]
        said = {line["event"]: line for line in lines}
        # A consumer reaches the embedded Redis at the URL the start-up printed.
        consumer = redis.Redis.from_url(said["redis.embedded"]["url"])
        published = consumer.xlen("videohooks:events")
        consumer.close()
    assert result.returncode == 0, result.stdout + result.stderr
    # Events without assets are published at once; those with assets wait for their copies (held).
    assert published > 20
    assert "not configured: sent to 'openai-main'" in result.stderr
    assert NOT_A_CALLBACK in result.stdout and CANNOT_SIGN in result.stdout
    assert "accepted" in result.stdout
    # The start-up says where the embedded Redis is, and that the admin token is the public demo one.
    assert "admin.demo_token" in said
    assert said["redis.embedded"]["url"].startswith("unix:///")


# -- the CLI's manners


def test_version_and_help_texts_keep_their_brackets() -> None:
    version = runner.invoke(cli, ["--version"])
    assert version.exit_code == 0 and re.fullmatch(r"videohooks \d+\.\d+\.\d+\n", version.stdout)
    for command in (["tail"], ["task"], ["doctor"], ["serve"], ["dlq", "list"]):
        shown = runner.invoke(cli, [*command, "--help"], env={"COLUMNS": "200"})
        assert "[redis] url" in shown.stdout, command


def test_redrive_summary_counts_what_happened() -> None:
    assert redrive_summary(["still_quarantined", "still_quarantined"]) == (
        "2 entries: 2 not redriven (2 still_quarantined)"
    )
    assert redrive_summary(["accepted", "duplicate", "unknown_source"]) == (
        "3 entries: 2 redriven (1 accepted, 1 duplicate); 1 not redriven (1 unknown_source)"
    )
    assert redrive_summary([]) == "0 entries"


MARKUP = "bad [/bold] and [red]red[/red] and [link=http://x]x[/link]"


def publish_markup(redis_url: str, prefix: str) -> None:
    async def publish() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        ctx = DeliveryContext("memories-main", "memories", datetime.now(UTC), "d-markup")
        event = build_event(
            ctx,
            task_id="t-[b]markup[/b]",
            task_type="description",
            status="failed",
            error=Error(code="provider_error", message=MARKUP),
        )
        await Publisher(client, KeySpace(prefix), dedupe_ttl_seconds=3600).publish(event)
        await client.aclose()

    asyncio.run(publish())


@pytest.mark.parametrize("group", [None, "readers"])
def test_tail_prints_provider_text_as_text(
    config_file: Path, redis_url: str, prefix: str, group: str | None
) -> None:
    publish_markup(redis_url, prefix)
    args = ["tail", "--from-start", "--count", "1", "--config", str(config_file)]
    shown = runner.invoke(cli, [*args, *(["--group", group] if group else [])], env={"COLUMNS": "60"})
    assert shown.exit_code == 0, shown.output
    assert "t-[b]markup[/b]" in shown.stdout and repr(MARKUP) in shown.stdout


def test_ids_stay_whole_in_a_narrow_terminal_and_a_pipe(
    config_file: Path, redis_url: str, prefix: str
) -> None:
    async def quarantine() -> str:
        client = redis.asyncio.Redis.from_url(redis_url)
        publisher = Publisher(client, KeySpace(prefix), dedupe_ttl_seconds=3600)
        entry_id = await publisher.quarantine(
            "memories-main", "invalid_json", MARKUP, {}, b"{", datetime.now(UTC)
        )
        await client.aclose()
        return entry_id

    entry_id = asyncio.run(quarantine())
    piped = runner.invoke(cli, ["dlq", "list", "--config", str(config_file)])
    assert piped.exit_code == 0, piped.output
    header, row = piped.stdout.splitlines()
    assert header.split("\t")[0] == "entry id" and row.split("\t")[:3] == [
        entry_id,
        "memories-main",
        "invalid_json",
    ]
    assert MARKUP in row

    # A terminal 40 columns wide: the table folds other columns, never the id.
    main, side = os.openpty()
    env = {**os.environ, "COLUMNS": "40", "TERM": "dumb"}
    process = subprocess.Popen(
        [sys.executable, "-m", "receiver", "dlq", "list", "--config", str(config_file)],
        stdout=side,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(side)
    shown = b""
    while chunk := _read(main):
        shown += chunk
    os.close(main)
    assert process.wait(timeout=60) == 0
    assert entry_id.encode() in shown and "…".encode() not in shown


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # the other end closed: Linux answers EIO
        return b""


def test_sources_json_is_the_machine_readable_form() -> None:
    listed = runner.invoke(cli, ["sources", "--config", str(EXAMPLE), "--json"])
    assert listed.exit_code == 0, listed.output
    ids = [item["id"] for item in orjson.loads(listed.stdout)]
    assert "memories-main" in ids and "ark-main" in ids
