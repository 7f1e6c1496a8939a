"""Configuration: valid files load; every bad key or value stops start-up with a message naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from receiver.cli import app
from receiver.config import ConfigError, load_config, parse_config
from tests.support import ROOT, WHSEC


def test_example_config_loads() -> None:
    config = load_config(ROOT / "videohooks.example.toml")
    assert config.redis.url is None
    assert config.source("memories-main") is not None


def test_defaults_and_env_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMORIES_TOKEN", "from-the-environment")
    config = parse_config(
        {"sources": [{"id": "m", "provider": "memories", "secrets": ["env:MEMORIES_TOKEN"]}]}
    )
    source = config.source("m")
    assert source is not None
    assert source.scheme == "url-token"  # memories' default
    assert source.secret_values() == ["from-the-environment"]
    assert "from-the-environment" not in repr(config)
    assert config.redis.prefix == "videohooks"
    assert config.redis.dedupe_ttl_seconds >= 7 * 24 * 3600
    assert config.server.max_body_bytes == 1048576


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"redis": {"urll": "redis://x"}}, ["redis.urll: unknown key"]),
        ({"sources": [{"id": "a", "provider": "vimeo", "verify": "none"}]}, ['sources[0] (id "a").provider']),
        (
            {"sources": [{"id": "a", "provider": "memories", "verify": "hmac"}]},
            ['sources[0] (id "a").verify'],
        ),
        ({"sources": [{"id": "a", "provider": "memories"}]}, ["needs at least one entry in secrets"]),
        (
            {"sources": [{"id": "a", "provider": "memories", "secrets": ["env:VIDEOHOOKS_TEST_UNSET"]}]},
            ['sources[0] (id "a").secrets[0]', "VIDEOHOOKS_TEST_UNSET is not set"],
        ),
        (
            {
                "sources": [
                    {
                        "id": "a",
                        "provider": "memories",
                        "verify": "standard-webhooks",
                        "secrets": ["whsec_***"],
                    }
                ]
            },
            ["whsec_ followed by base64"],
        ),
        ({"sources": [{"id": "a", "provider": "memories", "verify": "none"}] * 2}, ["'a' appears twice"]),
        ({"sources": [{"id": "has space", "provider": "memories", "verify": "none"}]}, ["sources[0]", ".id"]),
        ({"redis": {"url": "http://localhost"}}, ["redis.url: must start with redis://"]),
        ({"redis": {"partitions": 0}}, ["redis.partitions"]),
        ({"redis": {"sentinel": ["10.0.0.1"]}}, ["redis.sentinel: '10.0.0.1' is not host:port"]),
        ({"redis": {"sentinel": ["s:26379"], "cluster": True}}, ["redis: sentinel and cluster"]),
        ({"redis": {"sentinel": ["s:26379"], "url": "redis://x"}}, ["redis: give url or sentinel"]),
        ({"redis": {"wait_replicas": -1}}, ["redis.wait_replicas"]),
        (
            {"redis": {"wait_replicas": 1, "wait_timeout_ms": 2000}},
            ["redis: wait_timeout_ms must be below timeout_seconds"],
        ),
        ({"server": {"max_body_bytes": "big"}}, ["server.max_body_bytes"]),
        (
            {"sources": [{"id": "a", "provider": "memories", "verify": "none", "tolerance_seconds": -1}]},
            ["tolerance_seconds"],
        ),
    ],
)
def test_bad_config_names_the_key(data: dict[str, object], names: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    for name in names:
        assert name in str(caught.value)


def test_secret_never_in_error_messages() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {
                "sources": [
                    {
                        "id": "a",
                        "provider": "memories",
                        "verify": "standard-webhooks",
                        "secrets": ["whsec_SECRETVALUE**"],
                    }
                ]
            }
        )
    assert "SECRETVALUE" not in str(caught.value)


def test_check_config_cli(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        f'[[sources]]\nid = "o"\nprovider = "memories"\nverify = "standard-webhooks"\nsecrets = ["{WHSEC}"]\n'
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('[redis]\nprefix = "x"\nunknown = 1\n')
    broken = tmp_path / "broken.toml"
    broken.write_text("[redis\n")
    runner = CliRunner()
    assert runner.invoke(app, ["check-config", "--config", str(good)]).exit_code == 0
    result = runner.invoke(app, ["check-config", "--config", str(bad)])
    assert result.exit_code == 2
    assert "redis.unknown: unknown key" in result.output
    result = runner.invoke(app, ["check-config", "--config", str(broken)])
    assert result.exit_code == 2
    assert "not valid TOML" in result.output
    result = runner.invoke(app, ["check-config", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2
    assert "no such file" in result.output
