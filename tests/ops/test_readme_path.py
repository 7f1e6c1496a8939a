"""The README's newcomer path, walked literally on the embedded default: the commands of its "First
delivery" section are read from its fenced blocks and run as written (only the address changes: the
receiver listens on a free port), then what its "Next:" line points at: the console with the example's
demo admin token, and a consumer attached to the embedded Redis by the URL the start-up logged.
If the README's commands drift from what works, this fails."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import orjson

from receiver.config import DEMO_ADMIN_TOKEN
from tests.support import ROOT, live_receiver

README = (ROOT / "README.md").read_text(encoding="utf-8")
DEFAULT_BASE = "http://127.0.0.1:8080"


def first_delivery_commands() -> list[str]:
    """Each shell command of the section's ```sh blocks as written (a quoted argument may span lines;
    bash drops the comments), lines that are only comments left out."""
    section = README.split("## First delivery in one minute", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        pending = ""
        for line in block.splitlines():
            pending = f"{pending}\n{line}" if pending else line
            try:
                words = shlex.split(pending, comments=True)
            except ValueError:  # an open quote: the command goes on
                continue
            if words and not pending.rstrip().endswith("\\"):
                commands.append(pending)
            if not pending.rstrip().endswith("\\"):
                pending = ""
    return commands


def first_line(args: list[str], env: dict[str, str]) -> str:
    """The first line a command that follows for ever prints; the command is stopped then."""
    following = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert following.stdout is not None
    first = following.stdout.readline()
    following.terminate()
    following.wait(timeout=30)
    return first


def test_the_readme_first_delivery_section_is_what_a_newcomer_runs(tmp_path: Path) -> None:
    commands = first_delivery_commands()
    assert [command.split()[0] for command in commands] == ["curl", *[".venv/bin/videohooks"] * 3]
    config = tmp_path / "videohooks.toml"
    example = (ROOT / "videohooks.example.toml").read_text(encoding="utf-8")
    config.write_text(
        example.replace('data_dir = "var"', f'data_dir = "{tmp_path / "var"}"'), encoding="utf-8"
    )
    with live_receiver(config) as receiver:
        # The CLI finds the same file as the server, as `make run` and `videohooks` do with ./videohooks.toml.
        env = {**os.environ, "VIDEOHOOKS_CONFIG": str(config)}
        venv_bin = str(Path(sys.executable).parent)

        def run(command: str) -> subprocess.CompletedProcess[str]:
            command = command.replace(DEFAULT_BASE, receiver.url).replace(".venv/bin/", f"{venv_bin}/")
            return subprocess.run(
                ["bash", "-o", "pipefail", "-c", command],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )

        curl, tail, replay, sign = commands
        # The first delivery, then the same again: "Send it again and the answer is duplicate".
        assert orjson.loads(run(curl).stdout)["status"] == "accepted"
        assert orjson.loads(run(curl).stdout)["status"] == "duplicate"
        # `tail --from-start` follows for ever: it is stopped once it has shown the delivery.
        first = first_line(["bash", "-c", tail.replace(".venv/bin/", f"{venv_bin}/")], env)
        assert "memories-main ec24 succeeded" in first
        replayed = run(replay)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        signed = run(sign)
        assert signed.returncode == 0, signed.stderr
        assert orjson.loads(signed.stdout)["status"] in ("accepted", "duplicate")

        # Next: the console, signed in with the example's demo admin token.
        with httpx.Client(base_url=receiver.url) as browser:
            login = browser.post(
                "/console/login", data={"token": DEMO_ADMIN_TOKEN}, headers={"origin": receiver.url}
            )
            assert login.status_code == 303, login.text
            assert "memories-main" in browser.get("/console/").text

        # Next: a consumer, attached to the embedded Redis by the URL the start-up logged.
        said = {
            line["event"]: line
            for line in (orjson.loads(text) for text in receiver.log().splitlines() if text.startswith("{"))
        }
        url = said["redis.embedded"]["url"]
        first = first_line([sys.executable, "examples/consume.py", "--redis", url, "--group", "readme"], env)
        assert "memories-main ec24 succeeded model=gemini-2.5-flash-lite" in first
