"""Every admin route, found by walking the router: bearer token required, off without one, no secret out.

Admin routes are the app's routes under /v1/ that are not callbacks; a route added later is covered
here without touching this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from receiver.config import parse_config
from receiver.http.app import create_app
from tests.support import TL_SECRET, TOKEN, WHSEC
from tests.support.config import config_dict
from tests.support.routing import http_operations

ADMIN_TOKEN = "admin-token-5d1c0e7b9a"
API_KEY = "sk-admin-test-7f3e2a"
SECRETS = [ADMIN_TOKEN, API_KEY, TOKEN, WHSEC, WHSEC.removeprefix("whsec_"), TL_SECRET]


def admin_config(prefix: str, redis_url: str | None, token: str | None) -> dict[str, Any]:
    data = config_dict(prefix, redis_url)
    data["sources"][1]["api_key"] = API_KEY
    data["admin"] = {"token": token} if token else {}
    return data


def admin_operations() -> list[tuple[str, str]]:
    app = create_app(parse_config(admin_config("collect", None, ADMIN_TOKEN)))
    return sorted(
        (path, method)
        for path, method in http_operations(app.routes)
        if path.startswith("/v1/") and not path.startswith("/v1/callbacks/")
    )


def concrete(path: str) -> str:
    """A path with its parameters filled in: a configured source, else a plain word."""
    return re.sub(
        r"\{(\w+)(:\w+)?\}", lambda m: "memories-main" if m.group(1) == "source_id" else "probe", path
    )


def test_route_discovery_sees_the_v1_routes() -> None:
    app = create_app(parse_config(admin_config("collect", None, None)))
    assert ("/v1/callbacks/{source_id}", "POST") in http_operations(app.routes)


@pytest.fixture(params=[None, ADMIN_TOKEN], ids=["admin-off", "admin-on"])
def admin_client(request: pytest.FixtureRequest, prefix: str, redis_url: str) -> Iterator[TestClient]:
    config = parse_config(admin_config(prefix, redis_url, request.param))
    with TestClient(create_app(config)) as client:
        yield client


@pytest.mark.parametrize(("path", "method"), admin_operations())
def test_admin_route_needs_the_bearer_token(admin_client: TestClient, path: str, method: str) -> None:
    assert isinstance(admin_client.app, Starlette)
    admin_on = admin_client.app.state.runtime.config.admin.token is not None
    url = concrete(path)
    body = {"task_id": "admin-probe"}
    answers = {
        "none": admin_client.request(method, url, json=body),
        "wrong": admin_client.request(method, url, json=body, headers={"authorization": "Bearer not-it"}),
        "basic": admin_client.request(
            method, url, json=body, headers={"authorization": f"Basic {ADMIN_TOKEN}"}
        ),
        "right": admin_client.request(
            method, url, json=body, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
        ),
    }
    if admin_on:
        assert [answers[name].status_code for name in ("none", "wrong", "basic")] == [401, 401, 401]
        # Past the check: whatever the route answers (a probe id may well be "not found"), but not the
        # admin check's own refusals.
        assert answers["right"].status_code not in (401, 500)
        assert "admin routes are off" not in answers["right"].text
    else:
        assert {answer.status_code for answer in answers.values()} == {404}
    for answer in answers.values():
        assert not [secret for secret in SECRETS if secret in answer.text]
