"""Bedrock async invoke: `GetAsyncInvoke` against a fake Bedrock (pytest-httpserver) that checks each
request's SigV4 signature with botocore's signer; explicit keys, the standard chain (environment, a
profile), a Bedrock API key; and a watched invocation polled to its video."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from receiver.clients.http import api_client as http_api_client
from receiver.config import ConfigError, parse_config
from receiver.providers.bedrock import BedrockSource
from receiver.providers.bedrock.client import BedrockClient
from receiver.providers.bedrock.credentials import AwsCredentials
from tests.support import (
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY,
    FIXTURES,
    api_client,
    remote_error_of,
    stream_events,
)
from tests.support.api import api_base, api_config, receiver_parts
from tests.support.sigv4 import raw_target, sigv4_checked

ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/k4q8w2zr7tm1"
PATH = f"/async-invoke/{ARN}"  # as the fake matches it: decoded
RAW_PATH = "/async-invoke/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aasync-invoke%2Fk4q8w2zr7tm1"
KEYS = Credentials(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
AWS_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def invocation_calls(httpserver: HTTPServer) -> list[tuple[Request, Response]]:
    """This test's calls to the invocation (a previous test's late poll may land in the same log)."""
    return [(request, response) for request, response in httpserver.log if request.path == PATH]


def stored(name: str) -> bytes:
    return orjson.dumps(orjson.loads((FIXTURES / "bedrock" / f"{name}.json").read_bytes())["body"])


@pytest.fixture(autouse=True)
def no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The standard chain sees only what a test gives it: no host credentials, no metadata endpoint."""
    for name in AWS_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


def bedrock_source(httpserver: HTTPServer, **settings: Any) -> BedrockSource:
    return BedrockSource.model_validate(
        {
            "id": "reel",
            "provider": "bedrock",
            "region": "us-east-1",
            "api_base_url": api_base(httpserver),
            **settings,
        }
    )


@pytest.fixture
async def signed_client(httpserver: HTTPServer) -> AsyncIterator[BedrockClient]:
    source = bedrock_source(
        httpserver, access_key_id=AWS_ACCESS_KEY_ID, secret_access_key=AWS_SECRET_ACCESS_KEY
    )
    client = api_client(source)
    assert isinstance(client, BedrockClient)
    yield client
    await client.aclose()


async def test_the_invocation_is_read_with_a_sigv4_signature_botocore_accepts(
    httpserver: HTTPServer, signed_client: BedrockClient
) -> None:
    httpserver.expect_request(PATH, method="GET").respond_with_handler(
        sigv4_checked(stored("completed"), KEYS, "us-east-1")
    )
    assert await signed_client.get_task(ARN) == stored("completed")
    [(request, response)] = invocation_calls(httpserver)
    assert response.status_code == 200
    assert raw_target(request) == RAW_PATH, "the ARN is one percent-encoded path segment"
    # What AWS signs is that path URI-encoded once more (`%3A` -> `%253A`), as the sheet's check found.
    probe = AWSRequest(method="GET", url=f"http://bedrock{RAW_PATH}")
    probe.context["timestamp"] = "20261120T120000Z"
    canonical_uri = SigV4Auth(KEYS, "bedrock", "us-east-1").canonical_request(probe).split("\n")[1]
    assert canonical_uri == RAW_PATH.replace("%", "%25")
    assert (
        request.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={AWS_ACCESS_KEY_ID}/")
        and "/us-east-1/bedrock/aws4_request" in request.headers["authorization"]
    )


async def test_a_signature_with_another_secret_is_refused_by_the_fake(httpserver: HTTPServer) -> None:
    """The fake's check can fail: a client with the wrong secret gets AWS's 403, which is final."""
    source = bedrock_source(httpserver, access_key_id=AWS_ACCESS_KEY_ID, secret_access_key="not-the-secret")
    client = BedrockClient(source)
    httpserver.expect_request(PATH).respond_with_handler(
        sigv4_checked(stored("completed"), KEYS, "us-east-1")
    )
    try:
        error = await remote_error_of(client, ARN)
    finally:
        await client.aclose()
    assert (error.status, error.retryable) == (403, False)


async def test_a_request_with_a_body_is_signed_with_its_body(httpserver: HTTPServer) -> None:
    """The signer sees the request httpx sends, body included (Bedrock's own calls are GETs today)."""
    source = bedrock_source(
        httpserver, access_key_id=AWS_ACCESS_KEY_ID, secret_access_key=AWS_SECRET_ACCESS_KEY
    )
    httpserver.expect_request("/async-invoke", method="POST").respond_with_handler(
        sigv4_checked(b"{}", KEYS, "us-east-1")
    )
    async with http_api_client(source, per_request=AwsCredentials(source).signed_headers) as client:
        answer = await client.post(
            "/async-invoke?maxResults=1", content=b'{"modelId": "amazon.nova-reel-v1:1"}'
        )
    assert answer.status_code == 200, answer.text


async def test_a_session_token_is_signed_too(httpserver: HTTPServer) -> None:
    source = bedrock_source(
        httpserver,
        access_key_id=AWS_ACCESS_KEY_ID,
        secret_access_key=AWS_SECRET_ACCESS_KEY,
        session_token="FwoGZXIvYXdzEXAMPLETOKEN",
    )
    client = BedrockClient(source)
    credentials = Credentials(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "FwoGZXIvYXdzEXAMPLETOKEN")
    httpserver.expect_request(
        PATH, headers={"x-amz-security-token": "FwoGZXIvYXdzEXAMPLETOKEN"}
    ).respond_with_handler(sigv4_checked(stored("in-progress"), credentials, "us-east-1"))
    try:
        assert await client.get_task(ARN) == stored("in-progress")
    finally:
        await client.aclose()
    [(request, _)] = invocation_calls(httpserver)
    assert "x-amz-security-token" in request.headers["authorization"]


async def test_without_keys_the_standard_chain_finds_them_in_the_environment(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
    client = BedrockClient(bedrock_source(httpserver))
    httpserver.expect_request(PATH).respond_with_handler(
        sigv4_checked(
            stored("completed"), Credentials("AKIAENVIRONMENT00001", "environment-secret"), "us-east-1"
        )
    )
    try:
        assert await client.get_task(ARN) == stored("completed")
    finally:
        await client.aclose()


async def test_a_profile_selects_shared_credentials(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shared = tmp_path / "credentials"
    shared.write_text(
        "[default]\naws_access_key_id = AKIADEFAULT000000001\naws_secret_access_key = default-secret\n"
        "[video]\naws_access_key_id = AKIAPROFILEVIDEO0001\naws_secret_access_key = video-secret\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    client = BedrockClient(bedrock_source(httpserver, profile="video"))
    httpserver.expect_request(PATH).respond_with_handler(
        sigv4_checked(stored("completed"), Credentials("AKIAPROFILEVIDEO0001", "video-secret"), "us-east-1")
    )
    try:
        assert await client.get_task(ARN) == stored("completed")
    finally:
        await client.aclose()


async def test_no_credentials_anywhere_is_a_clear_retryable_error(httpserver: HTTPServer) -> None:
    client = BedrockClient(bedrock_source(httpserver))
    try:
        error = await remote_error_of(client, ARN)
    finally:
        await client.aclose()
    assert error.retryable
    assert "no AWS credentials for source 'reel'" in str(error)
    assert invocation_calls(httpserver) == []


async def test_a_bedrock_api_key_is_sent_as_bearer_without_sigv4(httpserver: HTTPServer) -> None:
    client = BedrockClient(bedrock_source(httpserver, api_key="ABSKbedrock-api-key"))

    def bearer_only(request: Request) -> Response:
        assert request.headers["authorization"] == "Bearer ABSKbedrock-api-key"
        assert "x-amz-date" not in request.headers
        return Response(stored("completed"), content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(bearer_only)
    try:
        assert await client.get_task(ARN) == stored("completed")
    finally:
        await client.aclose()
    httpserver.check_assertions()


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (403, False), (404, False), (429, True), (500, True)]
)
async def test_errors_say_whether_to_retry(
    status: int, retryable: bool, httpserver: HTTPServer, signed_client: BedrockClient
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"message": "no"}, status=status, headers={"x-amzn-ErrorType": "SomeException"}
    )
    assert (await remote_error_of(signed_client, ARN)).retryable is retryable


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "region"),
        ({"region": "us-east-1", "access_key_id": "AKIA"}, "set together"),
        ({"region": "us-east-1", "session_token": "t"}, "session_token goes with"),
        ({"region": "us-east-1", "api_key": "k", "profile": "p"}, "not both"),
        ({"region": "us-east-1", "output_uri": "https://bucket/x"}, "output_uri"),
    ],
)
def test_settings_that_cannot_work_are_refused(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"sources": [{"id": "b", "provider": "bedrock", **settings}]})


async def test_explicit_keys_may_be_environment_references(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REEL_AWS_KEY_ID", AWS_ACCESS_KEY_ID)
    monkeypatch.setenv("REEL_AWS_SECRET", AWS_SECRET_ACCESS_KEY)
    source = bedrock_source(
        httpserver, access_key_id="env:REEL_AWS_KEY_ID", secret_access_key="env:REEL_AWS_SECRET"
    )
    assert "REEL" not in repr(source) and AWS_SECRET_ACCESS_KEY not in repr(source)
    client = BedrockClient(source)
    httpserver.expect_request(PATH).respond_with_handler(
        sigv4_checked(stored("completed"), KEYS, "us-east-1")
    )
    try:
        assert await client.get_task(ARN) == stored("completed")
    finally:
        await client.aclose()


def test_the_endpoint_follows_the_region() -> None:
    config = parse_config({"sources": [{"id": "b", "provider": "bedrock", "region": "eu-west-1"}]})
    source = config.source("b")
    assert source is not None and source.api_base_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"


async def test_a_watched_invocation_is_polled_to_its_video(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    for name in ("in-progress", "in-progress", "completed"):
        httpserver.expect_ordered_request(PATH).respond_with_handler(
            sigv4_checked(stored(name), KEYS, "us-east-1")
        )
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        assert await parts.watch("bedrock-main", ARN)
        await parts.run_until_idle()
    events = stream_events(rclient, f"{prefix}:events")
    assert [event["status"] for event in events] == ["running", "succeeded"]
    assert events[-1]["assets"][0]["url"] == "s3://vh-reel-out/videos/k4q8w2zr7tm1/output.mp4"
    calls = invocation_calls(httpserver)
    assert [response.status_code for _, response in calls] == [200, 200, 200]


async def test_a_failed_invocation_publishes_its_message_and_never_logs_it(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    redis_url: str,
    prefix: str,
    rclient: redis.Redis,
) -> None:
    """`failureMessage` is sensitive in the service model: the caller's own error, for the event only."""
    httpserver.expect_request(PATH).respond_with_handler(sigv4_checked(stored("failed"), KEYS, "us-east-1"))
    async with receiver_parts(api_config(prefix, redis_url, api_base(httpserver)), redis_url) as parts:
        assert await parts.watch("bedrock-main", ARN)
        await parts.run_until_idle()
    [event] = stream_events(rclient, f"{prefix}:events")
    message = "The provided prompt was blocked by our content filters. Please adjust your prompt."
    assert (event["status"], event["error"]["message"]) == ("failed", message)
    logged = capsys.readouterr()
    assert "content filters" not in logged.out + logged.err
