"""Gemini: the static-webhook test vector, JWT-signed per-request webhooks kept unproven, the client,
and thin webhooks fetched end to end through the app."""

from __future__ import annotations

import base64
import time

import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient

from receiver.config import Config
from receiver.foundation.errors import Quarantine, RemoteError, Unauthentic
from receiver.providers import verifier_for
from receiver.providers.gemini.client import GeminiClient, task_path
from receiver.verifiers.standard_webhooks import StandardWebhooks
from tests.support import API_KEY, GEMINI_WHSEC, WHSEC, stream_entries, stream_events, v1_assets
from tests.support.vectors import (
    NOW,
    Vector,
    check_body,
    check_reference,
    check_refusals,
    check_signed_now_passes_reference,
    check_verifies,
)
from tests.support.waiting import wait_until

VECTOR = Vector(
    secret=GEMINI_WHSEC,
    msg_id="msg_2pQA0Gm5Xc8RdV1tYk6LhBw3Js",
    body=b'{"type":"video.generated","version":"v1","timestamp":"2026-11-20T12:00:00Z","data":{"id":'
    b'"models/veo-3.1-generate-preview/operations/vz341u0pmdlc","output_file_uri":'
    b'"https://generativelanguage.googleapis.com/v1beta/files/7xk2q9b1:download?alt=media","file_name":"files/7xk2q9b1"}}',
    length=280,
    sha256="0af5de502d3df4ea951966834df8f73ec4532f810d6de73a382e5c8c1d3a6839",
    signature="v1,omOImoEEqB6j2B6G+Rn247yabUlIUtShuTWrct7nnIc=",
)
OPERATION = "models/veo-3.1-generate-preview/operations/vz341u0pmdlc"
FILE = "https://generativelanguage.googleapis.com/v1beta/files/7xk2q9b1:download?alt=media"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# The shape of a per-request webhook's signature: a JWS compact serialization (the signature part is
# not a real RS256 signature: nothing here can or does verify it).
JWT = ".".join(
    (
        b64url(b'{"alg":"RS256","kid":"gemini-key-1","typ":"JWT"}'),
        b64url(b'{"iss":"https://generativelanguage.googleapis.com","iat":1795176000}'),
        b64url(b"\x01" * 256),
    )
)


def sheet_verifier() -> StandardWebhooks:
    return StandardWebhooks([GEMINI_WHSEC], 300)


class TestVector:
    def test_body_is_the_sheets(self) -> None:
        check_body(VECTOR)

    def test_verifies_with_an_injected_clock(self, config: Config) -> None:
        check_verifies(VECTOR, sheet_verifier())
        source = config.source("gemini-main")
        assert source is not None and source.verify == "standard-webhooks"
        check_verifies(VECTOR, verifier_for(source))

    def test_reference_package_agrees(self, config: Config) -> None:
        check_reference(VECTOR)
        source = config.source("gemini-main")
        assert source is not None
        check_signed_now_passes_reference(VECTOR, verifier_for(source), time.time())

    def test_refusals(self, config: Config) -> None:
        source = config.source("gemini-main")
        assert source is not None
        check_refusals(VECTOR, verifier_for(source))


class TestPerRequestJwt:
    def test_the_gemini_verifier_keeps_a_jwt_unproven(self, config: Config) -> None:
        source = config.source("gemini-main")
        assert source is not None
        headers = VECTOR.headers(**{"webhook-signature": JWT})
        with pytest.raises(Quarantine) as caught:
            verifier_for(source).check(headers, VECTOR.body, None, NOW)
        assert caught.value.reason == "unverified_signature"
        assert "JWT" in caught.value.detail and "'RS256'" in caught.value.detail

    def test_other_standard_webhooks_sources_refuse_a_jwt(self, config: Config) -> None:
        source = config.source("openai-thin")
        assert source is not None
        headers = VECTOR.headers(**{"webhook-signature": JWT})
        with pytest.raises(Unauthentic) as caught:
            verifier_for(source).check(headers, VECTOR.body, None, NOW)
        assert caught.value.code == "invalid_signature"

    @pytest.mark.parametrize(
        "signature",
        [
            "a.b.c",  # three parts, but no JOSE header
            b64url(b'{"typ":"JWT"}') + ".e30.c2ln",  # a header without alg
            JWT + ".extra",  # four parts
        ],
    )
    def test_what_is_not_a_jwt_is_refused_as_usual(self, config: Config, signature: str) -> None:
        source = config.source("gemini-main")
        assert source is not None
        with pytest.raises(Unauthentic) as caught:
            verifier_for(source).check(
                VECTOR.headers(**{"webhook-signature": signature}), VECTOR.body, None, NOW
            )
        assert caught.value.code == "invalid_signature"

    def test_through_the_app_it_is_quarantined_not_published(
        self, client: TestClient, rclient: redis.Redis, prefix: str, httpserver: HTTPServer
    ) -> None:
        headers = {
            "webhook-id": "msg_jwt_01",
            "webhook-timestamp": str(int(time.time())),
            "webhook-signature": JWT,
        }
        response = client.post("/v1/callbacks/gemini-main", content=VECTOR.body, headers=headers)
        assert response.status_code == 202
        assert response.json() == {"status": "quarantined", "reason": "unverified_signature"}
        assert stream_entries(rclient, f"{prefix}:events") == []
        [letter] = stream_entries(rclient, f"{prefix}:dlq")
        assert letter["reason"] == b"unverified_signature"
        assert letter["body"] == VECTOR.body
        assert b"per-request webhook" in letter["detail"]
        assert JWT.encode() not in letter["headers"]
        assert httpserver.log == [], "an unproven body is not fetched either"


class TestGeminiClient:
    @pytest.mark.parametrize(
        ("task_id", "path"),
        [
            (OPERATION, f"/v1beta/{OPERATION}"),
            ("operations/vz341u0pmdlc", "/v1beta/operations/vz341u0pmdlc"),
            ("v1_ChdpbnRlcmFjdGlvbi0wMDAx", "/v1beta/interactions/v1_ChdpbnRlcmFjdGlvbi0wMDAx"),
            ("v1_a b?c", "/v1beta/interactions/v1_a%20b%3Fc"),
        ],
    )
    def test_task_paths(self, task_id: str, path: str) -> None:
        assert task_path(task_id) == path

    async def test_asks_with_the_api_key_header(self, httpserver: HTTPServer, config: Config) -> None:
        source = config.source("gemini-main")
        assert source is not None
        httpserver.expect_request(
            f"/v1beta/{OPERATION}", headers={"x-goog-api-key": API_KEY}
        ).respond_with_json({"name": OPERATION})
        client = GeminiClient(source)
        try:
            assert orjson.loads(await client.get_task(OPERATION)) == {"name": OPERATION}
        finally:
            await client.aclose()
        [(request, _)] = httpserver.log
        assert "authorization" not in request.headers

    @pytest.mark.parametrize(("status", "retryable"), [(403, False), (404, False), (429, True), (503, True)])
    async def test_errors_map_to_remote_errors(
        self, httpserver: HTTPServer, config: Config, status: int, retryable: bool
    ) -> None:
        source = config.source("gemini-main")
        assert source is not None
        httpserver.expect_request("/v1beta/interactions/v1_x").respond_with_json({"error": {}}, status=status)
        client = GeminiClient(source)
        try:
            with pytest.raises(RemoteError) as caught:
                await client.get_task("v1_x")
        finally:
            await client.aclose()
        assert (caught.value.status, caught.value.retryable) == (status, retryable)


def post_signed(
    client: TestClient, config: Config, source_id: str, body: bytes, msg_id: str
) -> dict[str, object]:
    source = config.source(source_id)
    assert source is not None
    signed = verifier_for(source).sign(body, time.time(), msg_id)
    response = client.post(f"/v1/callbacks/{source_id}", content=body, headers=signed.headers)
    assert response.status_code == 202
    answer: dict[str, object] = response.json()
    return answer


class TestEndToEnd:
    def test_video_generated_fetches_the_operation_and_publishes_it(
        self, client: TestClient, config: Config, rclient: redis.Redis, prefix: str, httpserver: HTTPServer
    ) -> None:
        httpserver.expect_request(
            f"/v1beta/{OPERATION}", headers={"x-goog-api-key": API_KEY}
        ).respond_with_json(
            {
                "name": OPERATION,
                "done": True,
                "response": {"generateVideoResponse": {"generatedSamples": [{"video": {"uri": FILE}}]}},
            }
        )
        answer = post_signed(client, config, "gemini-main", VECTOR.body, "msg_e2e_gem_01")
        assert answer["status"] == "accepted"
        wait_until(lambda: rclient.xlen(f"{prefix}:events") > 0, timeout=5)
        [event] = stream_events(rclient, f"{prefix}:events")
        assert (event["task_id"], event["status"], event["delivery_id"], event["event_id"]) == (
            OPERATION,
            "succeeded",
            "msg_e2e_gem_01",
            answer["event_id"],
        )
        assert v1_assets(event) == [{"kind": "video", "url": FILE, "expires_at": "2026-11-22T12:00:00Z"}]
        assert stream_entries(rclient, f"{prefix}:dlq") == []

    def test_interaction_failed_keeps_its_error_when_the_fetch_cannot_succeed(
        self, client: TestClient, config: Config, rclient: redis.Redis, prefix: str, httpserver: HTTPServer
    ) -> None:
        httpserver.expect_request("/v1beta/interactions/v1_gone").respond_with_json({"error": {}}, status=404)
        body = orjson.dumps(
            {
                "type": "interaction.failed",
                "version": "v1",
                "timestamp": "2026-11-20T12:00:00Z",
                "data": {
                    "id": "v1_gone",
                    "error_code": "INVALID_ARGUMENT",
                    "error_message": "Prompt blocked.",
                },
            }
        )
        post_signed(client, config, "gemini-main", body, "msg_e2e_gem_02")
        wait_until(lambda: rclient.xlen(f"{prefix}:events") > 0, timeout=5)
        [event] = stream_events(rclient, f"{prefix}:events")
        assert (event["status"], event["error"]["code"]) == ("failed", "fetch_failed")
        assert event["extensions"]["webhook_error"] == {
            "code": "INVALID_ARGUMENT",
            "message": "Prompt blocked.",
        }

    def test_without_api_key_interaction_failed_is_published_with_its_error(
        self, client: TestClient, config: Config, rclient: redis.Redis, prefix: str, httpserver: HTTPServer
    ) -> None:
        body = orjson.dumps(
            {
                "type": "interaction.failed",
                "timestamp": "2026-11-20T12:00:00Z",
                "data": {
                    "id": "v1_thin",
                    "error_code": "INVALID_ARGUMENT",
                    "error_message": "Prompt blocked.",
                },
            }
        )
        assert post_signed(client, config, "gemini-thin", body, "msg_e2e_gem_03")["status"] == "accepted"
        [event] = stream_events(rclient, f"{prefix}:events")
        assert (event["status"], event["error"]) == (
            "failed",
            {"code": "INVALID_ARGUMENT", "message": "Prompt blocked."},
        )
        assert httpserver.log == []

    def test_a_static_secret_of_another_source_is_refused(
        self, client: TestClient, rclient: redis.Redis, prefix: str
    ) -> None:
        signed = StandardWebhooks([WHSEC], 300).sign(VECTOR.body, time.time(), "msg_e2e_gem_04")
        response = client.post("/v1/callbacks/gemini-main", content=VECTOR.body, headers=signed.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_signature")
        assert stream_entries(rclient, f"{prefix}:events") == []
        assert stream_entries(rclient, f"{prefix}:dlq") == []
