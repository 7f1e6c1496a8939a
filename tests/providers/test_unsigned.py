"""Unsigned callbacks (luma, kling, ark) end to end: the token admits a notification, the API says what it is.

Each provider's `notification-claims-*` fixture is a callback claiming success whose `resource` is the
API still reporting the task in progress. Through the HTTP app, the job runner and `httpserver`
playing the provider's API (which checks the credentials itself), the claim must publish `running`,
and only a later answer of the API may publish `succeeded`.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient
from werkzeug import Request, Response

from receiver.config import Config, parse_config
from receiver.http.app import create_app
from receiver.providers import PROVIDERS
from receiver.providers.unproven_sources import unproven_sources
from receiver.services.doctor import unproven_bodies
from receiver.services.fixtures import load_fixture, load_fixtures
from receiver.services.replay import replay_http
from tests.support import (
    API_KEY,
    FIXTURES,
    KLING_ACCESS_KEY,
    KLING_SECRET_KEY,
    ROOT,
    TOKEN,
    live_receiver,
    stream_entries,
    stream_events,
)
from tests.support.config import config_dict
from tests.support.waiting import wait_until


@dataclass(frozen=True)
class Case:
    provider: str
    fixture: str
    # The API's path of the fixture's task, and the answer that makes the task succeed.
    path: str
    done: str


CASES = [
    Case(
        "luma",
        "notification-claims-completed.json",
        "/dream-machine/v1/generations/7f3c2a1e-5b6d-4c8e-9f0a-1b2c3d4e5f60",
        "resource-completed.json",
    ),
    Case(
        "kling",
        "notification-claims-succeed.json",
        "/v1/videos/text2video/867283741759111202",
        "resource-succeed.json",
    ),
    Case(
        "ark",
        "notification-claims-succeeded.json",
        "/contents/generations/tasks/cgt-20261120115800-x7k2p",
        "resource-succeeded.json",
    ),
]
cases = pytest.mark.parametrize("case", CASES, ids=[case.provider for case in CASES])


def authorized(provider: str, request: Request) -> bool:
    """What the provider's API checks: Kling a JWT from the access key, the others the Bearer key."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme != "Bearer":
        return False
    if provider != "kling":
        return credential == API_KEY
    try:
        claims = jwt.decode(
            credential, KLING_SECRET_KEY, algorithms=["HS256"], options={"require": ["exp", "nbf"]}
        )
    except jwt.InvalidTokenError:
        return False
    return bool(claims["iss"] == KLING_ACCESS_KEY)


class FakeApi:
    """The provider's task API: answers `answer` to authorized requests, 401 to others, and counts."""

    def __init__(self, httpserver: HTTPServer, provider: str, path: str) -> None:
        self.provider = provider
        self.answer: bytes = b"{}"
        self.status = 200
        self.requests = 0
        httpserver.expect_request(path, method="GET").respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        self.requests += 1
        if not authorized(self.provider, request):
            return Response(b'{"error": "unauthorized"}', status=401, content_type="application/json")
        return Response(self.answer, status=self.status, content_type="application/json")


def api_source(provider: str) -> str:
    return f"{provider}-api"


def make_config(prefix: str, redis_url: str, httpserver: HTTPServer, **overrides: Any) -> Config:
    data = config_dict(prefix, redis_url, httpserver.url_for("").rstrip("/"))
    for source in data["sources"]:
        if source["id"].endswith("-api") and source["provider"] in {case.provider for case in CASES}:
            source.update(overrides)
    return parse_config(data)


@pytest.fixture
def app_client(prefix: str, redis_url: str, httpserver: HTTPServer) -> Iterator[TestClient]:
    with TestClient(create_app(make_config(prefix, redis_url, httpserver))) as client:
        yield client


def post(client: TestClient, source: str, body: bytes, token: str = TOKEN) -> tuple[int, dict[str, Any]]:
    response = client.post(f"/v1/callbacks/{source}/{token}", content=body)
    answer: dict[str, Any] = response.json()
    return response.status_code, answer


@cases
def test_a_forged_success_publishes_what_the_api_says_and_the_real_one_follows(
    case: Case, app_client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    fixture = load_fixture(FIXTURES / case.provider / case.fixture)
    api = FakeApi(httpserver, case.provider, case.path)
    api.answer = orjson.dumps(fixture.extra["resource"])

    status, answer = post(app_client, api_source(case.provider), fixture.body)
    assert (status, answer["status"]) == (PROVIDERS[case.provider].success_status, "accepted")
    wait_until(lambda: rclient.xlen(f"{prefix}:events") > 0, timeout=5)
    [running] = stream_events(rclient, f"{prefix}:events")
    assert running["status"] == "running"
    assert running["assets"] == []
    assert api.requests == 1

    # The task really finishes; its callback is confirmed this time.
    api.answer = load_fixture(FIXTURES / case.provider / case.done).body
    status, answer = post(app_client, api_source(case.provider), fixture.body)
    assert answer["status"] == "accepted"
    wait_until(lambda: rclient.xlen(f"{prefix}:events") > 1, timeout=5)
    statuses = [event["status"] for event in stream_events(rclient, f"{prefix}:events")]
    assert statuses == ["running", "succeeded"]
    assert stream_entries(rclient, f"{prefix}:dlq") == []

    # The claim again, the task published already: dropped before any fetch, naming no event (the
    # notification's own event was never published).
    status, answer = post(app_client, api_source(case.provider), fixture.body)
    assert (answer["status"], answer.get("event_id"), api.requests) == ("duplicate", None, 2)


@cases
def test_a_wrong_token_is_refused_and_nothing_is_stored_or_asked(
    case: Case, app_client: TestClient, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    api = FakeApi(httpserver, case.provider, case.path)
    fixture = load_fixture(FIXTURES / case.provider / case.fixture)
    for source in (api_source(case.provider), f"{case.provider}-main"):
        status, answer = post(app_client, source, fixture.body, token="not-" + TOKEN)
        assert (status, answer["error"]["code"]) == (401, "invalid_token")
    assert api.requests == 0
    assert list(rclient.scan_iter(match=f"{prefix}:*")) == []


def test_a_task_the_api_never_knows_is_quarantined_as_unknown_task(
    prefix: str, redis_url: str, httpserver: HTTPServer, rclient: redis.Redis
) -> None:
    case = CASES[0]
    api = FakeApi(httpserver, case.provider, case.path)
    api.status, api.answer = 404, b'{"detail": "Generation not found"}'
    config = make_config(prefix, redis_url, httpserver, fetch_deadline_seconds=0.4)
    body = load_fixture(FIXTURES / case.provider / case.fixture).body
    with TestClient(create_app(config)) as client:
        status, answer = post(client, api_source(case.provider), body)
        assert (status, answer["status"]) == (200, "accepted")
        wait_until(lambda: rclient.xlen(f"{prefix}:dlq") > 0, timeout=5)
    [dead] = stream_entries(rclient, f"{prefix}:dlq")
    assert dead["reason"] == b"unknown_task"
    assert dead["body"] == body
    assert api.requests >= 2, "a 404 is asked again until the deadline: the API may lag the callback"
    assert stream_entries(rclient, f"{prefix}:events") == []


def test_sources_publishing_unproven_bodies_are_warned_at_start_and_by_doctor(
    prefix: str, redis_url: str, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(prefix, redis_url, httpserver)
    # The -main sources have no credentials; the -api ones do; memories has no task API to ask.
    # minimax-open (unsigned, no key) and fal-main (`verify = "none"` in the test config, since fal's
    # signatures cannot be made again) are two more of the test config's.
    expected = ["minimax-open", "fal-main", "luma-main", "kling-main", "ark-main"]
    assert sorted(found.source for found in unproven_sources(config.sources)) == sorted(expected)
    checks = unproven_bodies(config)
    assert sorted((check.level, check.name) for check in checks) == sorted(
        ("warn", f"source {id_}") for id_ in expected
    )
    assert all("published as sent" in check.detail for check in checks)
    with TestClient(create_app(config)):
        pass
    logged = [line for line in capsys.readouterr().out.splitlines() if "source.unproven_bodies" in line]
    assert len(logged) == len(expected)
    assert all(any(id_ in line for line in logged) for id_ in expected)


def test_the_doctor_command_shows_the_warning(tmp_path: Path, prefix: str, redis_url: str) -> None:
    from typer.testing import CliRunner

    from receiver.cli import app

    config = tmp_path / "videohooks.toml"
    config.write_text(
        f'[redis]\nurl = "{redis_url}"\nprefix = "{prefix}"\n\n'
        f'[[sources]]\nid = "ark-main"\nprovider = "ark"\nsecrets = ["{TOKEN}"]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["doctor", "--config", str(config)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if "source ark-main" in line]
    assert line.startswith("warn")


needs_curl = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None, reason="curl and bash run the command"
)


@needs_curl
def test_sign_and_replay_deliver_the_fixtures_to_a_live_receiver(
    tmp_path: Path, prefix: str, redis_url: str, rclient: redis.Redis
) -> None:
    """`videohooks sign` puts the token in the URL; a replay counts Luma's 200 answers as stored."""
    from typer.testing import CliRunner

    from receiver.cli import app

    config_path = tmp_path / "videohooks.toml"
    sources = "".join(
        f'\n[[sources]]\nid = "{case.provider}-main"\nprovider = "{case.provider}"\nsecrets = ["{TOKEN}"]\n'
        for case in CASES
    )
    config_path.write_text(f'[redis]\nurl = "{redis_url}"\nprefix = "{prefix}"\n{sources}', encoding="utf-8")
    config = parse_config(tomllib.loads(config_path.read_text(encoding="utf-8")))
    signed = {case.provider: FIXTURES / case.provider / "failed.json" for case in CASES}
    fixtures = [
        fixture
        for case in CASES
        for fixture in load_fixtures([FIXTURES / case.provider])
        if fixture.source.endswith("-main") and fixture.path.name != "failed.json"
    ]
    # This checkout's receiver, wherever the package is installed from.
    with live_receiver(config_path, env={"PYTHONPATH": str(ROOT)}) as receiver:
        for provider, path in signed.items():
            result = CliRunner().invoke(
                app, ["sign", str(path), "--url", receiver.url, "--config", str(config_path)]
            )
            assert result.exit_code == 0, result.output
            assert f"/v1/callbacks/{provider}-main/{TOKEN}" in result.output
            done = subprocess.run(["bash", "-c", result.output], capture_output=True, timeout=30, check=False)
            assert done.returncode == 0, done.stderr
            assert orjson.loads(done.stdout)["status"] == "accepted"
        results = asyncio.run(replay_http(config, fixtures, receiver.url))
    outcomes = {result.path: result.outcome for result in results}
    for fixture in fixtures:
        outcome = outcomes[fixture.path]
        if fixture.expected_outcome == "quarantined":
            assert outcome == "quarantined", fixture.path
        else:  # fixtures share tasks: a status behind one already published is `stale`, never an error
            assert outcome in {"accepted", "duplicate", "stale"}, (fixture.path, outcome)
    published = {(event["provider"], event["status"]) for event in stream_events(rclient, f"{prefix}:events")}
    assert {("luma", "failed"), ("kling", "failed"), ("ark", "failed"), ("luma", "succeeded")} <= published
