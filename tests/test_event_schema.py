"""The committed JSON Schema of the canonical event is exactly what the model exports."""

from __future__ import annotations

import dataclasses
import uuid

import orjson
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from receiver.cli import app
from schemas.event import _EVENT_NAMESPACE, CanonicalEvent, event_id_for, event_json_schema
from tests.support import ROOT

SCHEMA_FILE = ROOT / "schemas" / "event.v1.schema.json"


def test_committed_schema_matches_the_model() -> None:
    committed = orjson.loads(SCHEMA_FILE.read_bytes())
    assert committed == event_json_schema(), "run `make schemas` and commit schemas/event.v1.schema.json"


def test_cli_exports_the_same_schema() -> None:
    result = CliRunner().invoke(app, ["schemas", "export"])
    assert result.exit_code == 0
    assert orjson.loads(result.stdout) == orjson.loads(SCHEMA_FILE.read_bytes())


def test_schema_requires_every_contract_field() -> None:
    required = set(event_json_schema()["required"])
    assert required == {
        "event_id",
        "schema_version",
        "source",
        "provider",
        "task_id",
        "task_type",
        "status",
        "model",
        "text",
        "title",
        "segments",
        "usage",
        "error",
        "truncated",
        "assets",
        "occurred_at",
        "received_at",
        "delivery_id",
        "extensions",
    }
    assert {field.name for field in dataclasses.fields(CanonicalEvent)} == required


def test_event_id_is_a_function_of_source_task_and_status() -> None:
    assert event_id_for("s", "t", "succeeded") == event_id_for("s", "t", "succeeded")
    assert (
        len(
            {
                event_id_for("s", "t", "succeeded"),
                event_id_for("s", "t", "failed"),
                event_id_for("s2", "t", "succeeded"),
                event_id_for("s", "t2", "succeeded"),
            }
        )
        == 4
    )
    # No ambiguity from concatenation.
    assert event_id_for("ab", "c", "queued") != event_id_for("a", "bc", "queued")


@given(st.text(), st.text(), st.sampled_from(["queued", "running", "succeeded", "failed"]))
def test_event_id_is_the_uuid5_of_the_three_joined(source: str, task_id: str, status: str) -> None:
    """The hand-built id must stay the RFC 4122 name-based id that earlier releases published."""
    expected = uuid.uuid5(_EVENT_NAMESPACE, f"{source}\x00{task_id}\x00{status}")
    assert event_id_for(source, task_id, status) == str(expected)
