"""Replicate: its Standard Webhooks test vector, the predictions client, full callbacks end to end."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient

from receiver.config import Config
from receiver.core.decoding import decode_resource
from receiver.foundation.errors import RemoteError
from receiver.providers import PROVIDER_SCHEMAS, PROVIDERS, verifier_for
from receiver.verifiers.standard_webhooks import StandardWebhooks
from schemas.normalizing import DeliveryContext
from tests.support import API_KEY, REPLICATE_WHSEC, api_client, stream_entries, stream_events, v1_assets
from tests.support.vectors import (
    NOW,
    OTHER_WHSEC,
    Vector,
    check_body,
    check_reference,
    check_refusals,
    check_signed_now_passes_reference,
    check_verifies,
)

VECTOR = Vector(
    secret=REPLICATE_WHSEC,
    msg_id="msg_2pQ9vYx7Lr3KcT8eWj4NfZb1Ha",
    body=b'{"id":"q7a2m4k9c5rg60ct3xvbnpd4wy","status":"succeeded",'
    b'"output":"https://replicate.delivery/xezq/abc123/output.mp4"}',
    length=117,
    sha256="1ef1ad985d80bb40be2bb59702c7a2c4bfdda15f18631538006c1b46c1a6f1c3",
    signature="v1,xXz2xbEQJaXTxX+Zx8E90rjZbJJosxWiO4KrNh7o7DY=",
)
ROTATION = "v1,q1SJtpxPlZndzmnmR9ljpCAT/6Is4+GqC0fTHURTTVU= v1,xXz2xbEQJaXTxX+Zx8E90rjZbJJosxWiO4KrNh7o7DY="
PREDICTION = "q7a2m4k9c5rg60ct3xvbnpd4wy"


def verifier() -> StandardWebhooks:
    return StandardWebhooks([REPLICATE_WHSEC], 300)


class TestVector:
    def test_body_is_the_sheets(self) -> None:
        check_body(VECTOR)

    def test_verifies_with_an_injected_clock(self) -> None:
        check_verifies(VECTOR, verifier())

    def test_rotation_form_passes(self) -> None:
        assert verifier().check(VECTOR.headers(**{"webhook-signature": ROTATION}), VECTOR.body, None, NOW)

    def test_reference_package_agrees(self) -> None:
        check_reference(VECTOR)
        check_signed_now_passes_reference(VECTOR, verifier(), time.time())

    def test_refusals(self) -> None:
        check_refusals(VECTOR, verifier())

    def test_the_source_verifies_with_standard_webhooks_by_default(self, config: Config) -> None:
        source = config.source("replicate-main")
        assert source is not None and source.verify == "standard-webhooks"
        check_verifies(VECTOR, verifier_for(source))


class TestPredictionsClient:
    async def test_get_prediction_with_bearer(self, httpserver: HTTPServer, config: Config) -> None:
        source = config.source("replicate-main")
        assert source is not None
        body = {"id": PREDICTION, "status": "processing"}
        httpserver.expect_request(
            f"/v1/predictions/{PREDICTION}", headers={"authorization": f"Bearer {API_KEY}"}
        ).respond_with_json(body)
        client = api_client(source)
        try:
            answer = await client.get_task(PREDICTION)
        finally:
            await client.aclose()
        assert orjson.loads(answer) == body
        # What the client returns decodes as a resource: polled predictions publish like callbacks.
        ctx = DeliveryContext(source.id, source.provider, datetime.now(UTC))
        event = decode_resource(PROVIDER_SCHEMAS["replicate"], answer, ctx)
        assert (event.task_id, event.status) == (PREDICTION, "running")

    @pytest.mark.parametrize(
        ("status", "retryable", "retry_after"),
        [(404, False, None), (401, False, None), (429, True, 7.0), (502, True, None)],
    )
    async def test_errors_map_to_remote_errors(
        self, httpserver: HTTPServer, config: Config, status: int, retryable: bool, retry_after: float | None
    ) -> None:
        source = config.source("replicate-main")
        assert source is not None
        headers = {"retry-after": "7"} if retry_after else {}
        httpserver.expect_request(f"/v1/predictions/{PREDICTION}").respond_with_data(
            "{}", status=status, headers=headers
        )
        client = api_client(source)
        try:
            with pytest.raises(RemoteError) as caught:
                await client.get_task(PREDICTION)
        finally:
            await client.aclose()
        assert (caught.value.status, caught.value.retryable, caught.value.retry_after) == (
            status,
            retryable,
            retry_after,
        )


def post(client: TestClient, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    response = client.post("/v1/callbacks/replicate-main", content=body, headers=headers)
    return response.status_code, response.json()


class TestEndToEnd:
    def test_a_signed_prediction_is_published_as_it_comes_never_fetched(
        self, client: TestClient, config: Config, rclient: redis.Redis, prefix: str, httpserver: HTTPServer
    ) -> None:
        source = config.source("replicate-main")
        assert source is not None
        assert not PROVIDERS["replicate"].fetches(source), "signed full bodies are facts, even with api_key"
        body = orjson.dumps(
            {
                "id": PREDICTION,
                "model": "google/veo-3.1",
                "status": "succeeded",
                "output": ["https://replicate.delivery/x/out.mp4"],
                "completed_at": "2026-11-20T11:59:58.334455Z",
                "metrics": {"predict_time": 117.11},
            }
        )
        signed = verifier_for(source).sign(body, time.time(), "msg_e2e_01")
        status, answer = post(client, body, signed.headers)
        assert (status, answer["status"]) == (202, "accepted")
        [event] = stream_events(rclient, f"{prefix}:events")
        assert (event["status"], event["delivery_id"], event["usage"]["processing_ms"]) == (
            "succeeded",
            "msg_e2e_01",
            117110,
        )
        assert v1_assets(event) == [
            {
                "kind": "video",
                "url": "https://replicate.delivery/x/out.mp4",
                "expires_at": "2026-11-20T12:59:58.334455Z",
            }
        ]
        assert httpserver.log == [], "a signed full callback is not fetched"
        # A resend carries the same webhook-id: a duplicate, nothing more stored.
        status, answer = post(client, body, signed.headers)
        assert answer["status"] == "duplicate"
        assert len(stream_events(rclient, f"{prefix}:events")) == 1

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ("body", "invalid_signature"),
            ("stale", "timestamp_out_of_tolerance"),
            ("future", "timestamp_out_of_tolerance"),
            ("missing", "missing_signature"),
            ("key", "invalid_signature"),
        ],
    )
    def test_bad_deliveries_are_401_and_store_nothing(
        self, client: TestClient, config: Config, rclient: redis.Redis, prefix: str, change: str, code: str
    ) -> None:
        source = config.source("replicate-main")
        assert source is not None
        now = time.time()
        signer = verifier_for(source)
        body = VECTOR.body
        if change == "key":
            signer = StandardWebhooks([OTHER_WHSEC], 300)
        skew = {"stale": -400, "future": 400}.get(change, 0)
        headers = signer.sign(body, now + skew, "msg_bad_01").headers
        if change == "body":
            body = body.replace(b"succeeded", b"succeedeD")
        if change == "missing":
            del headers["webhook-timestamp"]
        status, answer = post(client, body, headers)
        assert (status, answer["error"]["code"]) == (401, code)
        assert stream_entries(rclient, f"{prefix}:events") == []
        assert stream_entries(rclient, f"{prefix}:dlq") == []
