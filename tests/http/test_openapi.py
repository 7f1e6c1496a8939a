"""The OpenAPI document: served as committed, describing every route, and the app fuzzed against it."""

from __future__ import annotations

import zlib
from typing import Any, get_args

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import GenerationMode
from starlette.testclient import TestClient

from receiver.config import Config
from receiver.http.app import create_app
from receiver.providers import PROVIDERS
from schemas.event import TaskType
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


def aim(case: schemathesis.Case[Any], source_id: str, config: Config) -> None:
    """Send a generated case to `source_id`. The document cannot say which kinds of task each source
    has: a valid kind the source lacks is left out of a watch (as a caller may), not refused with 422."""
    case.path_parameters = {**(case.path_parameters or {}), "source_id": source_id}
    source = config.source(source_id)
    task_type = case.body.get("task_type") if isinstance(case.body, dict) else None
    lacked = source is not None and task_type not in PROVIDERS[source.provider].schemas.task_types
    if isinstance(case.body, dict) and task_type in get_args(TaskType) and lacked:
        case.body = {key: value for key, value in case.body.items() if key != "task_type"}


# Given explicitly, the admin's token is what every request carries (the auth checks send others).
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value
)
def test_api_conforms_to_its_description(client: TestClient, config: Config, mode: GenerationMode) -> None:
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
            aim(case, source_id, config)
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
    null = client.post("/v1/dlq/redrive", headers=admin, json={"ids": None})
    assert "leave ids out to redrive every entry" in null.json()["error"]["message"]
    assert client.post("/v1/dlq/redrive", headers=admin, content=b"{").status_code == 400
    assert client.post("/v1/dlq/redrive", headers=admin, json={}).json() == {"results": []}


def test_linked_operations_hold_together(client: TestClient, config: Config) -> None:
    """Schemathesis' stateful phase: sequences that follow the document's links (a watched task's
    record, a listed dead letter shown and redriven, a listed event's task record), every check on
    every step, on data the document allows. The steps are bounded so that the phase takes seconds."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    # Data the document allows, so that each linked step is a request the link's target must honour
    # (the data it forbids is the fuzzing test's above).
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    configured = ["memories-main", "memories-tl", "veo-relay", "openai-main"]
    answered: set[tuple[str, int]] = set()

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: schemathesis.Case[Any]) -> None:
            # A generated source id would only meet 404s: aim it at a configured source, picked by
            # its text so that a shrunk sequence replays the same way. Ids a link carried are kept.
            source_id = (case.path_parameters or {}).get("source_id")
            if isinstance(source_id, str) and source_id not in configured:
                aim(case, configured[zlib.crc32(source_id.encode()) % len(configured)], config)

        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"headers": ADMIN}

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case[Any]) -> None:
            super().after_call(response, case)
            answered.add((case.operation.label, response.status_code))

    run_state_machine_as_test(
        Sequences,
        settings=settings(
            max_examples=25,
            derandomize=True,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    # The links were followed with what they carried: a watched task's record was found.
    assert ("GET /v1/sources/{source_id}/tasks/{task_id}", 200) in answered, repr(sorted(answered))
