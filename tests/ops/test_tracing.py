"""Traces: spans reach a loopback OTLP/HTTP receiver in the sender's trace, and the trace runs on into
the events stream, fetch jobs, consumers and log lines; without an endpoint nothing of it is loaded."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient

from examples.consume import entries, handling
from receiver.config import ConfigError, parse_config
from receiver.http.app import create_app
from receiver.services.subscriber import parse_entry
from tests.support import (
    ADMIN_TOKEN,
    ROOT,
    TOKEN,
    WHSEC,
    live_receiver,
    read_stream,
    stream_entries,
    write_config,
)
from tests.support.api import api_base, video, webhook
from tests.support.config import config_dict
from tests.support.deliveries import memories_body, signed_headers
from tests.support.waiting import wait_until

SENDER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SENDER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{SENDER_TRACE}-{SENDER_SPAN}-01"


def traced_config(prefix: str, redis_url: str, httpserver: HTTPServer) -> dict[str, Any]:
    """The test config with `httpserver` as both the providers' API and the OTLP collector."""
    data = config_dict(prefix, redis_url, api_base(httpserver))
    data["telemetry"] = {"otlp_endpoint": api_base(httpserver) + "/"}
    return data


@pytest.fixture
def collector(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/v1/traces", method="POST").respond_with_data(
        b"", content_type="application/x-protobuf"
    )
    return httpserver


def received_spans(collector: HTTPServer) -> dict[str, list[dict[str, Any]]]:
    """Every span the collector was sent, by name, in the order they ended, ids in hex as in a traceparent."""
    spans: dict[str, list[dict[str, Any]]] = {}
    for request, _ in collector.log:
        if request.path != "/v1/traces":
            continue
        data = request.get_data()
        if request.headers.get("content-encoding") == "gzip":
            data = gzip.decompress(data)
        export = ExportTraceServiceRequest.FromString(data)
        for resource_spans in export.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.setdefault(span.name, []).append(
                        {
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "kind": span.kind,
                            "attributes": {a.key: a.value.string_value for a in span.attributes},
                            "service": resource["service.name"],
                        }
                    )
    return spans


def traceparent_parts(value: bytes | str) -> tuple[str, str, str, str]:
    text = value.decode() if isinstance(value, bytes) else value
    version, trace_id, span_id, flags = text.split("-")
    return version, trace_id, span_id, flags


def test_a_delivery_continues_the_senders_trace_into_its_stream_entry(
    collector: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    body = memories_body("traced-task")
    headers = {**signed_headers(body, "msg_traced"), "traceparent": TRACEPARENT}
    with TestClient(create_app(parse_config(traced_config(prefix, redis_url, collector)))) as client:
        response = client.post("/v1/callbacks/memories-signed", content=body, headers=headers)
        assert response.json()["status"] == "accepted"
    # The lifespan flushed the span processor on the way out: every span is at the collector by now.
    spans = received_spans(collector)
    assert set(spans) == {"delivery", "verify", "decode", "publish"}
    [root] = spans["delivery"]
    assert (root["trace_id"], root["parent_span_id"]) == (SENDER_TRACE, SENDER_SPAN)
    assert root["attributes"] == {"source": "memories-signed", "provider": "memories", "outcome": "accepted"}
    assert root["kind"] == 2  # SPAN_KIND_SERVER
    assert root["service"] == "videohooks"
    for step in ("verify", "decode", "publish"):
        [child] = spans[step]
        assert (child["trace_id"], child["parent_span_id"]) == (SENDER_TRACE, root["span_id"])

    [entry] = stream_entries(rclient, f"{prefix}:events")
    assert set(entry) == {
        "event",
        "event_id",
        "source",
        "provider",
        "task_id",
        "status",
        "schema_version",
        "traceparent",
    }
    assert traceparent_parts(entry["traceparent"]) == (
        "00",
        SENDER_TRACE,
        spans["publish"][0]["span_id"],
        "01",
    )
    # The typed subscriber and the plain-redis example hand it to consumers, who continue the trace.
    [(entry_id, fields)] = read_stream(rclient, f"{prefix}:events")
    received = parse_entry(f"{prefix}:events", entry_id, fields)
    assert received is not None
    assert received.traceparent == entry["traceparent"].decode()
    [(event, traceparent)] = entries(
        rclient, [f"{prefix}:events"], "traced", "worker-1", block_ms=50, stop_when_idle=True
    )
    assert event["task_id"] == "traced-task"
    assert traceparent == received.traceparent
    with handling(traceparent) as consumer_span:
        assert format(consumer_span.get_span_context().trace_id, "032x") == SENDER_TRACE


def test_a_refused_delivery_is_traced_with_its_outcome(
    collector: HTTPServer, redis_url: str, prefix: str
) -> None:
    body = memories_body()
    headers = {**signed_headers(body, "msg_forged"), "traceparent": TRACEPARENT}
    headers["webhook-signature"] = "v1,AAAA" + headers["webhook-signature"][7:]
    with TestClient(create_app(parse_config(traced_config(prefix, redis_url, collector)))) as client:
        assert client.post("/v1/callbacks/memories-signed", content=body, headers=headers).status_code == 401
    spans = received_spans(collector)
    assert set(spans) == {"delivery", "verify"}
    [root], [verify] = spans["delivery"], spans["verify"]
    assert root["attributes"] == {"source": "memories-signed", "outcome": "unauthentic"}
    assert verify["parent_span_id"] == root["span_id"]


def test_a_fetch_continues_the_trace_of_the_callback_that_enqueued_it(
    collector: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    collector.expect_request("/v1/videos/video_traced").respond_with_json(video("video_traced"))
    body = webhook("video_traced")
    headers = {**signed_headers(body, "msg_thin"), "traceparent": TRACEPARENT}
    with TestClient(create_app(parse_config(traced_config(prefix, redis_url, collector)))) as client:
        assert client.post("/v1/callbacks/openai-main", content=body, headers=headers).status_code == 202
        wait_until(lambda: rclient.xlen(f"{prefix}:events") == 1)
    spans = received_spans(collector)
    [root], [fetch] = spans["delivery"], spans["fetch"]
    assert (fetch["trace_id"], fetch["parent_span_id"]) == (SENDER_TRACE, root["span_id"])
    # The callback's decode in the delivery, the fetched object's in the fetch; publishing is the fetch's.
    assert [decode["parent_span_id"] for decode in spans["decode"]] == [root["span_id"], fetch["span_id"]]
    [entry] = stream_entries(rclient, f"{prefix}:events")
    assert fetch["attributes"] == {"job.id": f"fetch:{entry['event_id'].decode()}"}
    # The fetched event is published like every other, under a `publish` span of the fetch.
    [published] = [span for span in spans["publish"] if span["parent_span_id"] == fetch["span_id"]]
    assert traceparent_parts(entry["traceparent"])[1:3] == (SENDER_TRACE, published["span_id"])


def test_each_poll_is_a_trace_of_its_own(
    collector: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    task = "83319f9e-1c2d-4e5f-9a0b-5c6d7e8f9a0b"
    collector.expect_request(f"/v1/videos/{task}").respond_with_json(video(task, model="veo3.1"))
    with TestClient(create_app(parse_config(traced_config(prefix, redis_url, collector)))) as client:
        admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        response = client.post("/v1/sources/veo-relay/tasks", json={"task_id": task}, headers=admin)
        assert response.status_code == 202
        wait_until(lambda: rclient.xlen(f"{prefix}:events") == 1)
    spans = received_spans(collector)
    [poll] = spans["poll"]
    assert poll["parent_span_id"] == ""
    assert poll["attributes"] == {"job.id": f"poll:veo-relay:{task}"}
    assert poll["kind"] == 5  # SPAN_KIND_CONSUMER
    [entry] = stream_entries(rclient, f"{prefix}:events")
    assert traceparent_parts(entry["traceparent"])[1] == poll["trace_id"]


def test_without_an_endpoint_entries_carry_no_traceparent(
    client: TestClient, rclient: redis.Redis, prefix: str
) -> None:
    response = client.post(f"/v1/callbacks/memories-main/{TOKEN}", content=memories_body())
    assert response.json()["status"] == "accepted"
    [(entry_id, fields)] = read_stream(rclient, f"{prefix}:events")
    assert b"traceparent" not in fields
    received = parse_entry(f"{prefix}:events", entry_id, fields)
    assert received is not None
    assert received.traceparent is None


DELIVERY = """
import json
import sys

import redis  # redis-py imports opentelemetry's metrics SDK itself when it is installed

before = {name for name in sys.modules if name.startswith("opentelemetry")}

from starlette.testclient import TestClient

from receiver.http.app import create_app
from receiver.config import parse_config
from tests.support.config import config_dict
from tests.support.deliveries import memories_body

data = config_dict(sys.argv[1], sys.argv[2])
if len(sys.argv) > 4:
    data["telemetry"] = {"otlp_endpoint": sys.argv[4]}
with TestClient(create_app(parse_config(data))) as client:
    answer = client.post(f"/v1/callbacks/memories-main/{sys.argv[3]}", content=memories_body())
    assert answer.json()["status"] == "accepted", answer.text
print(json.dumps(sorted({name for name in sys.modules if name.startswith("opentelemetry")} - before)))
"""


def opentelemetry_modules_loaded(prefix: str, redis_url: str, *endpoint: str) -> list[str]:
    """The opentelemetry modules that creating the app and delivering loads, beyond redis-py's own."""
    done = subprocess.run(
        [sys.executable, "-c", DELIVERY, prefix, redis_url, TOKEN, *endpoint],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_without_an_endpoint_nothing_of_opentelemetry_is_loaded(prefix: str, redis_url: str) -> None:
    assert opentelemetry_modules_loaded(prefix, redis_url) == []


def test_with_an_endpoint_the_sdk_and_exporter_are_loaded(
    collector: HTTPServer, prefix: str, redis_url: str
) -> None:
    loaded = opentelemetry_modules_loaded(prefix, redis_url, api_base(collector))
    assert {"opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http.trace_exporter"} <= set(loaded)


@pytest.fixture
def traced_config_file(tmp_path: Path, collector: HTTPServer, redis_url: str, prefix: str) -> Iterator[Path]:
    yield write_config(
        tmp_path / "videohooks.toml",
        f"""
[redis]
url = "{redis_url}"
prefix = "{prefix}"

[telemetry]
otlp_endpoint = "{api_base(collector)}"
service_name = "hooks-under-test"

[[sources]]
id = "memories-signed"
provider = "memories"
verify = "standard-webhooks"
secrets = ["{WHSEC}"]
""",
    )


def test_a_live_receiver_logs_the_trace_id_and_flushes_its_spans_on_sigterm(
    traced_config_file: Path, collector: HTTPServer
) -> None:
    body = memories_body("live-task")
    headers = {**signed_headers(body, "msg_live"), "traceparent": TRACEPARENT}
    # The worktree's code, wherever videohooks is installed from.
    with live_receiver(traced_config_file, env={"PYTHONPATH": str(ROOT)}) as receiver:
        answer = httpx.post(f"{receiver.url}/v1/callbacks/memories-signed", content=body, headers=headers)
        assert answer.json()["status"] == "accepted"
        assert receiver.stop() == 0
        receiver.process = None
    lines = [json.loads(line) for line in receiver.log().splitlines() if line.startswith("{")]
    [delivery] = [line for line in lines if line.get("event") == "delivery"]
    assert delivery["trace_id"] == SENDER_TRACE
    spans = received_spans(collector)
    [root] = spans["delivery"]
    assert (root["trace_id"], root["service"]) == (SENDER_TRACE, "hooks-under-test")


@pytest.mark.parametrize(
    ("endpoint", "problem"),
    [("collector:4318", "must start with http:// or https://"), ("grpc://collector:4317", "must start")],
)
def test_an_endpoint_that_is_not_http_is_refused(endpoint: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=f"telemetry.otlp_endpoint: {problem}"):
        parse_config({"telemetry": {"otlp_endpoint": endpoint}})


def test_the_endpoint_is_a_base_url_spans_go_below_it() -> None:
    config = parse_config({"telemetry": {"otlp_endpoint": "http://collector:4318/"}})
    assert config.telemetry.traces_url == "http://collector:4318/v1/traces"
    assert config.telemetry.service_name == "videohooks"
