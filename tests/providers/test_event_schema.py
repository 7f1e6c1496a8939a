"""The committed JSON Schemas of the canonical event (versions 1 and 2) are exactly what the model exports."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import jsonschema
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from receiver.cli import app
from schemas.event import (
    _EVENT_NAMESPACE,
    V2_ASSET_FIELDS,
    VERSIONS,
    Asset,
    CanonicalEvent,
    Version,
    as_version,
    event_from_json,
    event_id_for,
    event_json_schema,
    event_to_dict,
    event_to_json,
)
from schemas.normalizing import DeliveryContext, build_event
from tests.support import ROOT


def schema_file(version: int) -> bytes:
    return (ROOT / "schemas" / f"event.v{version}.schema.json").read_bytes()


@pytest.mark.parametrize("version", VERSIONS)
def test_committed_schema_matches_the_model(version: Version) -> None:
    committed = orjson.loads(schema_file(version))
    assert committed == event_json_schema(version), (
        f"run `make schemas` and commit schemas/event.v{version}.schema.json"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_cli_exports_the_same_schema(version: Version) -> None:
    result = CliRunner().invoke(app, ["schemas", "export", "--version", str(version)])
    assert result.exit_code == 0
    assert result.stdout.encode() == schema_file(version)


def test_cli_exports_version_2_by_default_and_refuses_unknown_versions() -> None:
    assert CliRunner().invoke(app, ["schemas", "export"]).stdout.encode() == schema_file(2)
    assert CliRunner().invoke(app, ["schemas", "export", "--version", "3"]).exit_code == 2


def test_version_1_is_version_2_without_the_four_asset_fields() -> None:
    v1, v2 = event_json_schema(1), event_json_schema(2)
    v1_asset, v2_asset = v1["$defs"]["Asset"], v2["$defs"]["Asset"]
    assert set(v2_asset["required"]) - set(v1_asset["required"]) == set(V2_ASSET_FIELDS)
    assert v1["properties"]["schema_version"]["const"] == 1
    assert v2["properties"]["schema_version"]["const"] == 2
    assert {key: value for key, value in v1["properties"].items() if key != "schema_version"} == {
        key: value for key, value in v2["properties"].items() if key != "schema_version"
    }


def copied_event() -> CanonicalEvent:
    ctx = DeliveryContext("openai-main", "openai", datetime(2026, 1, 2, tzinfo=UTC))
    return build_event(
        ctx,
        task_id="video_1",
        task_type="generation",
        status="succeeded",
        assets=[
            Asset(
                kind="video",
                url="s3://bucket/videohooks/openai-main/video_1/0-video.mp4",
                expires_at=None,
                source_url="https://api.openai.test/v1/videos/video_1/content",
                content_type="video/mp4",
                bytes=1234,
                sha256="a" * 64,
            ),
            Asset(
                kind="thumbnail", url="https://cdn.test/t.webp", expires_at=datetime(2026, 1, 3, tzinfo=UTC)
            ),
        ],
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_each_version_validates_against_its_schema_and_reads_back(version: Version) -> None:
    event = as_version(copied_event(), version)
    published = event_to_dict(event)
    jsonschema.validate(published, event_json_schema(version))
    assert published["schema_version"] == version
    assert event_from_json(event_to_json(event)).event_id == copied_event().event_id
    other = event_json_schema(2 if version == 1 else 1)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(published, other)


def test_the_v1_projection_leaves_out_the_copy_and_reading_it_back_gives_nulls() -> None:
    v1 = event_to_dict(as_version(copied_event(), 1))
    assert v1["assets"][0] == {
        "kind": "video",
        "url": "s3://bucket/videohooks/openai-main/video_1/0-video.mp4",
        "expires_at": None,
    }
    read = event_from_json(orjson.dumps(v1))
    assert read.schema_version == 1
    assert (read.assets[0].sha256, read.assets[0].bytes, read.assets[0].content_type) == (None, None, None)
    # A provider's asset names its URL once; version 2 carries it as source_url too.
    provider_asset = event_to_dict(copied_event())["assets"][1]
    assert provider_asset["source_url"] == provider_asset["url"] == "https://cdn.test/t.webp"
    assert provider_asset["sha256"] is None


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
    assert set(event_json_schema(1)["required"]) == required


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


def test_the_consumer_example_reads_both_versions_in_the_version_2_shape() -> None:
    from examples.consume import assets

    v1 = event_to_dict(as_version(copied_event(), 1))
    v2 = event_to_dict(copied_event())
    assert assets(v2) == v2["assets"]
    # What version 1 cannot say is null; the URL (here the stored copy) is all a v1 consumer had.
    assert assets(v1)[0] == {**v2["assets"][0], "source_url": v1["assets"][0]["url"]} | {
        "content_type": None,
        "bytes": None,
        "sha256": None,
    }
    assert assets(v1)[1] == v2["assets"][1]
