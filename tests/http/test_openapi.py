"""The OpenAPI document: served as committed, describing every route, and the app fuzzed against it."""

from __future__ import annotations

from typing import Any

import orjson
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from receiver.config import Config
from receiver.http.app import create_app
from tests.support import ROOT, TOKEN
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


SOURCE_IDS = st.sampled_from(["memories-open", "memories-signed", "memories-tl", "memories-main", "nope"])
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    case=schemathesis.openapi.from_dict(COMMITTED).as_strategy(),
    source_id=SOURCE_IDS,
    use_token=st.booleans(),
)
def test_api_conforms_to_its_description(
    client: TestClient, case: schemathesis.Case[Any], source_id: str, use_token: bool
) -> None:
    """Schemathesis requests, aimed at configured sources too: never a 5xx, every answer as described."""
    if "source_id" in (case.path_parameters or {}):
        case.path_parameters = {**(case.path_parameters or {}), "source_id": source_id}
        if use_token and "token" in case.path_parameters:
            case.path_parameters["token"] = TOKEN
    request = case.as_transport_kwargs(base_url=str(client.base_url))
    request.pop("cookies", None)
    response = client.request(**request)
    case.validate_response(response, checks=CHECKS)
