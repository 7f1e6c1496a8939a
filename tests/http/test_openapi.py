"""The OpenAPI document: served as committed, describing every route, and the app fuzzed against it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from starlette.testclient import TestClient

from receiver.config import Config
from receiver.http.app import create_app
from tests.support import ADMIN_TOKEN, ROOT, TOKEN
from tests.support.routing import http_operations

COMMITTED = orjson.loads((ROOT / "receiver" / "openapi.json").read_bytes())


def test_served_document_is_the_committed_one(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == COMMITTED
    assert COMMITTED["openapi"] == "3.1.0"


def test_every_route_is_described_and_nothing_else(config: Config) -> None:
    """A new route fails here until receiver/openapi.json describes it (and its methods)."""
    served = {(path, method.lower()) for path, method in http_operations(create_app(config).routes)}
    described = {(path, method) for path, operations in COMMITTED["paths"].items() for method in operations}
    assert served == described


# Real source ids of the test config (and one that is not), so that requests reach past the 404s.
SOURCE_IDS = st.sampled_from(
    ["memories-open", "memories-signed", "memories-tl", "memories-main", "veo-relay", "openai-main", "nope"]
)
# Given explicitly, the admin's token is what every request carries (the auth checks send others).
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value
)
def test_api_conforms_to_its_description(client: TestClient, mode: GenerationMode) -> None:
    """Schemathesis requests, every check, data the document allows and data it forbids, as the admin
    and aimed at configured sources: never a 5xx, every answer as described, what the document
    forbids refused (422 naming the field, never a bulk action)."""

    # Through the app itself (its lifespan already run by `client`): the checks that send a request
    # again (other credentials, none) reach the same app.
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        case=schema.as_strategy(generation_mode=mode, headers=ADMIN),
        source_id=SOURCE_IDS,
        use_token=st.booleans(),
    )
    def conforms(case: schemathesis.Case[Any], source_id: str, use_token: bool) -> None:
        if "source_id" in (case.path_parameters or {}):
            case.path_parameters = {**(case.path_parameters or {}), "source_id": source_id}
            if use_token and "token" in case.path_parameters:
                case.path_parameters["token"] = TOKEN
        case.call_and_validate()

    conforms()


def test_a_null_id_list_redrives_nothing(client: TestClient) -> None:
    """`{"ids": null}` is not "no ids": a bulk redrive is asked for only by leaving `ids` out."""
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    for body, field in (({"ids": None}, "ids"), ({"ids": [1]}, "ids.0"), ({"delete": "yes"}, "delete")):
        answer = client.post("/v1/dlq/redrive", headers=admin, json=body)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["code"] == "invalid_request"
        assert f"{field}: " in answer.json()["error"]["message"]
    assert client.post("/v1/dlq/redrive", headers=admin, content=b"{").status_code == 400
    assert client.post("/v1/dlq/redrive", headers=admin, json={}).json() == {"results": []}
