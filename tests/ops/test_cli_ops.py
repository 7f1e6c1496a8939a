"""The operator commands: `sources` (secrets masked), `sign` (a curl command that is accepted), `doctor`."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
import typer
from typer.testing import CliRunner

from receiver.cli import app
from receiver.config import parse_config
from receiver.services.doctor import Check, clock_skew, redis_location
from receiver.services.inventory import mask
from tests.support import FIXTURES, TOKEN, WHSEC, free_port, live_receiver, stream_entries, write_config

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    # A wide terminal, so that a table shows each value on one line (narrower ones fold, losing nothing).
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and group of the CLI; typer's groups (its own click) have `commands`."""
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from command_paths(sub, (*path, name))


def test_every_help_has_an_example_and_the_top_level_the_exit_codes() -> None:
    paths = list(command_paths(typer.main.get_command(app)))
    assert {("sources",), ("sign",), ("doctor",), ("schemas", "export")} <= set(paths)
    for path in paths:
        code, text = invoke(*path, "--help")
        assert code == 0, text
        assert "Example: videohooks " in text or "Examples:" in text, (
            f"{' '.join(path)} --help has no example"
        )
    top = invoke("--help")[1]
    assert "Exit codes: 0 ok; 1 the command ran but something failed" in top
    assert "2 bad usage or configuration" in top


# sources


def test_mask_shows_only_the_kind_and_a_short_tail() -> None:
    assert mask(WHSEC) == "whsec_…LaSw"
    assert mask(TOKEN) == "…a5b4"
    # Too short to give four characters away.
    assert mask("tl_test_secret") == "tl_…"
    assert mask("old-token") == "…"


def test_sources_lists_every_source_with_secrets_masked(tmp_path: Path, prefix: str) -> None:
    path = write_config(
        tmp_path / "videohooks.toml",
        f"""
[redis]
prefix = "{prefix}"

[[sources]]
id = "memories-main"
provider = "memories"
verify = "url-token"
secrets = ["{TOKEN}", "old-token-0000000000000"]

[[sources]]
id = "memories-signed"
provider = "memories"
verify = "standard-webhooks"
secrets = ["{WHSEC}"]
api_key = "sk-test-key-never-printed-1234"
""",
    )
    code, table = invoke("sources", "--config", str(path))
    assert code == 0, table
    code, raw = invoke("sources", "--config", str(path), "--json")
    assert code == 0, raw
    for output in (table, raw):
        for secret in (TOKEN, WHSEC, "old-token-0000000000000", "sk-test-key-never-printed-1234"):
            assert secret not in output
            assert secret[-8:] not in output
    assert orjson.loads(raw) == [
        {
            "id": "memories-main",
            "provider": "memories",
            "verify": "url-token",
            "callback_path": "/v1/callbacks/memories-main/…a5b4",
            "secrets": "…a5b4 (2 active)",
            "api_credentials": False,
        },
        {
            "id": "memories-signed",
            "provider": "memories",
            "verify": "standard-webhooks",
            "callback_path": "/v1/callbacks/memories-signed",
            "secrets": "whsec_…LaSw (1 active)",
            "api_credentials": True,
        },
    ]
    assert "memories-signed" in table
    assert "whsec_…LaSw" in table


def test_sources_refuses_a_bad_config_with_exit_2(tmp_path: Path) -> None:
    path = write_config(tmp_path / "bad.toml", '[[sources]]\nid = "x"\nprovider = "nope"\n')
    code, output = invoke("sources", "--config", str(path))
    assert code == 2
    assert "sources[0]" in output


# sign

needs_curl = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None, reason="curl and bash run the command"
)


def awkward_fixture(tmp_path: Path) -> Path:
    """A delivery whose exact bytes a careless shell command would change: quotes, `$`, `%`, newlines."""
    body_text = (
        '{\n  "code": 200, "message": "SUCCESS", "task_id": "sign-awkward",\n'
        '  "data": {"msg": "ok", "success": true, "data": {"data": [\n'
        '    {"start_time": 0.0, "end_time": 1.0,\n'
        '     "transcript": "it\'s $HOME at 100%s \\\\n `date` \\"q\\""}\n'
        "  ]}}\n}\n"
    )
    path = tmp_path / "awkward.json"
    path.write_bytes(
        orjson.dumps({"source": "memories-signed", "provider": "memories", "body_text": body_text})
    )
    return path


def sign_command(fixture: Path, url: str, config_file: Path, *extra: str) -> str:
    code, command = invoke("sign", str(fixture), "--url", url, "--config", str(config_file), *extra)
    assert code == 0, command
    return command


def run_printed(command: str) -> dict[str, object]:
    completed = subprocess.run(["bash", "-c", command], capture_output=True, timeout=30, check=False)
    assert completed.returncode == 0, completed.stderr.decode() + completed.stdout.decode()
    answer: dict[str, object] = orjson.loads(completed.stdout)
    return answer


@needs_curl
def test_signed_curl_commands_are_accepted_by_a_live_receiver(
    config_file: Path, tmp_path: Path, rclient: redis.Redis, prefix: str
) -> None:
    awkward = awkward_fixture(tmp_path)
    body_file = tmp_path / "body.json"
    with live_receiver(config_file) as receiver:
        url_token = sign_command(FIXTURES / "memories" / "unicode.json", receiver.url, config_file)
        inline = sign_command(awkward, receiver.url, config_file)
        from_file = sign_command(
            FIXTURES / "memories" / "success.json",
            receiver.url,
            config_file,
            "--source",
            "memories-signed",
            "--body-file",
            str(body_file),
        )
        assert "webhook-signature: v1," in inline
        assert f"@{body_file}" in from_file
        answers = [run_printed(command) for command in (url_token, inline, from_file)]
        # The same command again is the provider retrying: the same delivery, answered as a duplicate.
        again = run_printed(inline)
    assert [answer["status"] for answer in answers] == ["accepted"] * 3
    assert again["status"] == "duplicate"
    events = [orjson.loads(entry["event"]) for entry in stream_entries(rclient, f"{prefix}:events")]
    assert [(event["source"], event["task_id"]) for event in events] == [
        ("memories-main", "unicode-task"),
        ("memories-signed", "sign-awkward"),
        ("memories-signed", "ec24f1b2a0c94d6e8f7a"),
    ]
    assert events[1]["segments"][0]["text"] == 'it\'s $HOME at 100%s \\n `date` "q"'


@needs_curl
def test_a_signed_command_for_another_secret_is_refused(config_file: Path, tmp_path: Path) -> None:
    other = write_config(tmp_path / "other.toml", config_file.read_text().replace("whsec_Mf", "whsec_Nf"))
    with live_receiver(config_file) as receiver:
        command = sign_command(awkward_fixture(tmp_path), receiver.url, other)
        completed = subprocess.run(["bash", "-c", command], capture_output=True, timeout=30, check=False)
    assert completed.returncode == 22  # curl --fail-with-body
    assert orjson.loads(completed.stdout)["error"]["code"] == "invalid_signature"


def test_sign_refuses_a_fixture_for_an_unknown_source(config_file: Path) -> None:
    code, output = invoke(
        "sign",
        str(FIXTURES / "memories" / "success.json"),
        "--url",
        "http://127.0.0.1:1",
        "--source",
        "nowhere",
        "--config",
        str(config_file),
    )
    assert code == 2
    assert "'nowhere' is not in the configuration" in output


# doctor


def doctor_lines(config_file: Path, *extra: str) -> tuple[int, list[str]]:
    code, output = invoke("doctor", "--config", str(config_file), *extra)
    return code, output.splitlines()


def test_doctor_on_a_healthy_receiver(config_file: Path, rclient: redis.Redis, prefix: str) -> None:
    code, lines = doctor_lines(config_file)
    assert code == 0, lines
    assert lines[:5] == [
        "ok   config: 2 source(s)",
        f"ok   redis: configured server redis://{rclient.connection_pool.connection_kwargs['host']}:"
        f"{rclient.connection_pool.connection_kwargs['port']}/0",
        "ok   redis reachable: PING answered",
        "ok   redis write: wrote and deleted a probe key",
        lines[4],
    ]
    assert lines[4].startswith("ok   clock: Redis clock is ")
    assert lines[5:] == [
        f"ok   {prefix}:events: 0 entries",
        f"ok   {prefix}:dlq: 0 entries",
        "ok   asset store: none configured: assets are published with the provider's URLs",
    ]
    assert list(rclient.scan_iter(match=f"{prefix}:doctor:*")) == []


def test_doctor_shows_streams_groups_and_dead_letters_as_warnings(
    config_file: Path, rclient: redis.Redis, prefix: str
) -> None:
    replayed = runner.invoke(
        app, ["replay", str(FIXTURES / "memories"), "--direct", "--config", str(config_file)]
    )
    assert replayed.exit_code == 0, replayed.output
    code, lines = doctor_lines(config_file)
    assert code == 0  # warnings do not fail
    assert f"warn {prefix}:events: 9 entries: no consumer group reads it yet" in lines
    assert f"warn {prefix}:dlq: 2 entries: dead letters wait for a look and a redrive" in lines

    rclient.xgroup_create(f"{prefix}:events", "analytics", id="0")
    rclient.xreadgroup("analytics", "worker-1", {f"{prefix}:events": ">"}, count=2)
    code, lines = doctor_lines(config_file)
    assert code == 0
    assert f"ok   {prefix}:events: 9 entries; group analytics: 1 consumer(s), 2 pending, lag 7" in lines


def test_doctor_beside_a_receiver_on_embedded_redis_leaves_that_redis_running(tmp_path: Path) -> None:
    config_path = write_config(
        tmp_path / "embedded.toml",
        f'[server]\ndata_dir = "{tmp_path / "var"}"\n\n'
        f'[[sources]]\nid = "memories-main"\nprovider = "memories"\n'
        f'verify = "url-token"\nsecrets = ["{TOKEN}"]\n',
    )
    with live_receiver(config_path) as receiver:
        code, lines = doctor_lines(config_path)
        assert code == 0, lines
        assert lines[1].startswith("warn redis: embedded Redis under ")
        assert "ok   redis write: wrote and deleted a probe key" in lines
        assert httpx.get(f"{receiver.url}/readyz").json() == {"status": "ready"}


def test_doctor_names_a_sentinel_master_not_an_embedded_redis() -> None:
    config = parse_config({"redis": {"sentinel": ["10.0.0.5:26379", "10.0.0.6:26379"]}})
    assert redis_location(config, None) == Check(
        "ok", "redis", "sentinel master 'mymaster' via 10.0.0.5:26379, 10.0.0.6:26379"
    )
    assert (
        redis_location(config, "redis://10.0.0.7:6379/0").detail
        == "configured server redis://10.0.0.7:6379/0"
    )
    # An empty --redis-url is no URL: the configured Redis (here none, so the embedded one) is used.
    assert redis_location(parse_config({}), "").level == "warn"


def test_doctor_fails_when_redis_is_unreachable(config_file: Path, prefix: str) -> None:
    code, lines = doctor_lines(config_file, "--redis-url", f"redis://127.0.0.1:{free_port()}/0")
    assert code == 1
    assert lines[-1].startswith("fail redis reachable: ConnectionError")


@pytest.fixture
def read_only_user(rclient: redis.Redis) -> Iterator[tuple[str, str]]:
    """A real Redis ACL user that may read but not write: Redis as a read-only replica would answer."""
    name, password = f"doctor-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    rclient.acl_setuser(
        name,
        enabled=True,
        passwords=[f"+{password}"],
        keys=["*"],
        commands=["+@read", "+@connection", "+time"],
    )
    yield name, password
    rclient.acl_deluser(name)


def test_doctor_fails_when_redis_refuses_writes_and_never_shows_the_password(
    config_file: Path, rclient: redis.Redis, read_only_user: tuple[str, str]
) -> None:
    name, password = read_only_user
    kwargs = rclient.connection_pool.connection_kwargs
    url = f"redis://{name}:{password}@{kwargs['host']}:{kwargs['port']}/0"
    code, lines = doctor_lines(config_file, "--redis-url", url)
    assert code == 1
    assert "ok   redis reachable: PING answered" in lines
    assert lines[-1].startswith("fail redis write: NoPermissionError")
    assert password not in "\n".join(lines)


def test_doctor_refuses_an_invalid_config_with_exit_2(tmp_path: Path) -> None:
    path = write_config(tmp_path / "bad.toml", "[redis]\npartitions = 0\n")
    code, lines = doctor_lines(path)
    assert code == 2
    assert lines[0] == f"fail config: {path}: invalid configuration"
    assert any("redis.partitions" in line for line in lines)


@pytest.mark.parametrize(
    ("redis_now", "level"),
    [(100.2, "ok"), (98.0, "warn"), (102.5, "warn"), (400.5, "fail"), (-250.0, "fail")],
)
def test_clock_skew_thresholds(redis_now: float, level: str) -> None:
    # Host clock read at 99.9 and 100.1 around the TIME call: the midpoint is 100.0.
    check = clock_skew(99.9, 100.1, redis_now, tolerance_seconds=300)
    assert check.level == level
    assert f"{redis_now - 100.0:+.3f} s" in check.detail
