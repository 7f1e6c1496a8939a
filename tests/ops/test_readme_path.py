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
from tests.support import ROOT, free_port, live_receiver
from tests.support.waiting import wait_until

README = (ROOT / "README.md").read_text(encoding="utf-8")
DEFAULT_BASE = "http://127.0.0.1:8080"
DEMO_API = "127.0.0.1:8091"  # where the example's `vidu-main` asks, and examples/demo_api.py answers


def section_commands(title: str) -> list[str]:
    """Each shell command of the section's ```sh blocks as written (a quoted argument may span lines;
    bash drops the comments), lines that are only comments left out."""
    section = README.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
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


def example_config(tmp_path: Path, demo_api: str = DEMO_API) -> Path:
    """The example config as a newcomer copies it, its data under `tmp_path`, its demo API at `demo_api`."""
    config = tmp_path / "videohooks.toml"
    example = (ROOT / "videohooks.example.toml").read_text(encoding="utf-8")
    config.write_text(
        example.replace('data_dir = "var"', f'data_dir = "{tmp_path / "var"}"').replace(DEMO_API, demo_api),
        encoding="utf-8",
    )
    return config


def as_typed(command: str, receiver_url: str, demo_api: str = DEMO_API) -> str:
    """A README command as a newcomer types it, aimed at this test's free ports and virtualenv."""
    venv_bin = str(Path(sys.executable).parent)
    command = command.replace(DEFAULT_BASE, receiver_url).replace(".venv/bin/", f"{venv_bin}/")
    return command.replace("examples/demo_api.py", f"examples/demo_api.py --port {demo_api.split(':')[1]}")


def shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_readme_first_delivery_section_is_what_a_newcomer_runs(tmp_path: Path) -> None:
    commands = section_commands("First delivery in one minute")
    assert [command.split()[0] for command in commands] == ["curl", *[".venv/bin/videohooks"] * 3]
    config = example_config(tmp_path)
    with live_receiver(config) as receiver:
        # The CLI finds the same file as the server, as `make run` and `videohooks` do with ./videohooks.toml.
        env = {**os.environ, "VIDEOHOOKS_CONFIG": str(config)}

        def run(command: str) -> subprocess.CompletedProcess[str]:
            return shell(as_typed(command, receiver.url), env)

        curl, tail, replay, sign = commands
        # The first delivery, then the same again: "Send it again and the answer is duplicate".
        assert orjson.loads(run(curl).stdout)["status"] == "accepted"
        assert orjson.loads(run(curl).stdout)["status"] == "duplicate"
        # `tail --from-start` follows for ever: it is stopped once it has shown the delivery.
        first = first_line(["bash", "-c", as_typed(tail, receiver.url)], env)
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


def test_the_readme_watch_against_the_demo_api_is_what_a_newcomer_runs(tmp_path: Path) -> None:
    """The first commands of "When callbacks go missing": the demo API started, a task watched, its
    succeeded event published."""
    demo, watch, task = section_commands("When callbacks go missing")[:3]
    assert demo.rstrip().split("#")[0].rstrip().endswith("&")
    demo_api = f"127.0.0.1:{free_port()}"
    config = example_config(tmp_path, demo_api)
    env = {**os.environ, "VIDEOHOOKS_CONFIG": str(config)}
    # In the background as the README says; run here as a process of its own, so that it can be stopped.
    serving = demo.split("&", 1)[0]
    api = subprocess.Popen(
        ["bash", "-c", f"exec {as_typed(serving, '', demo_api)}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert api.stdout is not None
        assert api.stdout.readline().startswith("demo Vidu API on")
        with live_receiver(config) as receiver:
            watched = shell(as_typed(watch, receiver.url, demo_api), env)
            assert watched.returncode == 0, watched.stdout + watched.stderr
            assert "watching demo-1 of vidu-main" in watched.stderr

            def published() -> bool:
                answer = shell(as_typed(task, receiver.url, demo_api), env)
                assert answer.returncode == 0, answer.stdout + answer.stderr
                record = orjson.loads(answer.stdout)
                return bool(record["final"]) and "succeeded" in orjson.dumps(record["statuses"]).decode()

            wait_until(published, timeout=60, interval=0.2)
    finally:
        api.terminate()
        api.wait(timeout=30)
