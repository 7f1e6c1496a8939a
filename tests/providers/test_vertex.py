"""Veo on Vertex AI: `fetchPredictOperation` against a fake Vertex (pytest-httpserver) whose token
endpoint takes google-auth's real service-account exchange (an RS256 assertion signed with a key made
here, checked against its public half); refresh before expiry, off the event loop; express-mode keys;
the config checks of `credentials_file`; and a watched operation polled to its video."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from receiver.cli import app
from receiver.config import ConfigError, parse_config
from receiver.providers.vertex.client import VertexClient
from receiver.providers.vertex.settings import VertexSource, default_api_base_url
from tests.support import API_KEY, FIXTURES, api_client, remote_error_of, stream_events
from tests.support.api import api_base, receiver_parts
from tests.support.config import config_dict
from tests.support.google_fake import TokenEndpoint, write_service_account

OPERATION = (
    "projects/vh-prod/locations/us-central1/publishers/google/models/veo-3.1-generate-001"
    "/operations/a1b07c8e-7b5a-4aba-bb34-3e1ccb8afcc8"
)
FETCH = (
    "/v1/projects/vh-prod/locations/us-central1/publishers/google/models/veo-3.1-generate-001"
    ":fetchPredictOperation"
)


def stored(name: str) -> bytes:
    return orjson.dumps(orjson.loads((FIXTURES / "vertex" / f"{name}.json").read_bytes())["body"])


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def token_endpoint(httpserver: HTTPServer, rsa_key: rsa.RSAPrivateKey) -> TokenEndpoint:
    endpoint = TokenEndpoint(rsa_key.public_key())
    httpserver.expect_request("/token", method="POST").respond_with_handler(endpoint)
    return endpoint


@pytest.fixture
def service_account_file(tmp_path: Path, httpserver: HTTPServer, rsa_key: rsa.RSAPrivateKey) -> Path:
    return write_service_account(tmp_path / "veo-sa.json", rsa_key, httpserver.url_for("/token"))


def vertex_source(httpserver: HTTPServer, **settings: Any) -> VertexSource:
    return VertexSource.model_validate(
        {
            "id": "veo",
            "provider": "vertex",
            "project": "vh-prod",
            "location": "us-central1",
            "api_base_url": api_base(httpserver),
            **settings,
        }
    )


@pytest.fixture
def no_ambient_google(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """ADC sees only what a test gives it: no host credentials, no gcloud config, no metadata server."""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    yield


@pytest.fixture
async def sa_client(httpserver: HTTPServer, service_account_file: Path) -> AsyncIterator[VertexClient]:
    client = api_client(vertex_source(httpserver, credentials_file=str(service_account_file)))
    assert isinstance(client, VertexClient)
    yield client
    await client.aclose()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_the_operation_is_fetched_with_a_token_from_the_real_exchange(
    httpserver: HTTPServer, token_endpoint: TokenEndpoint, sa_client: VertexClient
) -> None:
    httpserver.expect_request(
        FETCH, method="POST", headers=bearer("ya29.test-access-token-1"), json={"operationName": OPERATION}
    ).respond_with_data(stored("succeeded-gcs"), content_type="application/json")
    assert await sa_client.get_task(OPERATION) == stored("succeeded-gcs")
    httpserver.check_assertions()
    assert token_endpoint.issued == ["ya29.test-access-token-1"]


async def test_a_token_is_reused_until_it_nears_its_expiry_then_refreshed(
    httpserver: HTTPServer, token_endpoint: TokenEndpoint, sa_client: VertexClient
) -> None:
    httpserver.expect_request(FETCH).respond_with_data(stored("running"), content_type="application/json")
    await sa_client.get_task(OPERATION)
    await sa_client.get_task(OPERATION)
    assert len(token_endpoint.issued) == 1, "a valid token is reused"
    # A token with a minute left is inside google-auth's refresh margin: the next call exchanges again.
    token_endpoint.expires_in = 60
    sa_client._google._credentials.expiry = None  # type: ignore[union-attr]  # the next answer sets it
    sa_client._google._credentials.token = None  # type: ignore[union-attr]
    await sa_client.get_task(OPERATION)
    await sa_client.get_task(OPERATION)
    assert len(token_endpoint.issued) == 3, "a token about to expire is refreshed before use"
    used = [request.headers["authorization"] for request, _ in httpserver.log if request.path == FETCH]
    assert used == [f"Bearer ya29.test-access-token-{n}" for n in (1, 1, 2, 3)]


async def test_the_exchange_does_not_stall_the_event_loop(
    httpserver: HTTPServer, token_endpoint: TokenEndpoint, sa_client: VertexClient
) -> None:
    token_endpoint.delay = 0.5
    httpserver.expect_request(FETCH).respond_with_data(stored("running"), content_type="application/json")
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(ticking())
    await sa_client.get_task(OPERATION)
    ticker.cancel()
    assert ticks >= 20, f"the loop ran {ticks} times during a 0.5 s token exchange"


async def test_a_refused_exchange_is_a_retryable_error_that_shows_no_token(
    httpserver: HTTPServer, service_account_file: Path
) -> None:
    httpserver.expect_request("/token").respond_with_json(
        {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, status=400
    )
    client = VertexClient(vertex_source(httpserver, credentials_file=str(service_account_file)))
    try:
        error = await remote_error_of(client, OPERATION)
    finally:
        await client.aclose()
    assert error.retryable
    assert "invalid_grant" in str(error)
    assert not any(request.path == FETCH for request, _ in httpserver.log)


@pytest.mark.usefixtures("no_ambient_google")
async def test_without_a_file_application_default_credentials_are_used(
    httpserver: HTTPServer,
    token_endpoint: TokenEndpoint,
    service_account_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file))
    httpserver.expect_request(FETCH, headers=bearer("ya29.test-access-token-1")).respond_with_data(
        stored("running"), content_type="application/json"
    )
    client = VertexClient(vertex_source(httpserver))
    try:
        assert await client.get_task(OPERATION) == stored("running")
    finally:
        await client.aclose()


async def test_an_express_mode_key_is_sent_as_x_goog_api_key(httpserver: HTTPServer) -> None:
    def key_only(request: Request) -> Response:
        assert request.headers["x-goog-api-key"] == API_KEY
        assert "authorization" not in request.headers
        return Response(stored("running"), content_type="application/json")

    httpserver.expect_request(FETCH, method="POST").respond_with_handler(key_only)
    client = VertexClient(vertex_source(httpserver, api_key=API_KEY))
    try:
        assert await client.get_task(OPERATION) == stored("running")
    finally:
        await client.aclose()
    httpserver.check_assertions()


async def test_a_name_without_operations_is_not_asked_for(httpserver: HTTPServer) -> None:
    client = VertexClient(vertex_source(httpserver, api_key=API_KEY))
    try:
        error = await remote_error_of(client, "projects/vh-prod/locations/us-central1/models/veo")
    finally:
        await client.aclose()
    assert (error.status, error.retryable) == (404, False)
    assert not any(request.path.startswith("/v1/") for request, _ in httpserver.log)


@pytest.mark.parametrize(
    ("location", "base"),
    [
        ("global", "https://aiplatform.googleapis.com"),
        ("us", "https://aiplatform.us.rep.googleapis.com"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com"),
        ("europe-west4", "https://europe-west4-aiplatform.googleapis.com"),
    ],
)
def test_the_endpoint_follows_the_location(location: str, base: str) -> None:
    assert default_api_base_url(location) == base
    source = {"id": "v", "provider": "vertex", "project": "vh-prod", "location": location}
    parsed = parse_config({"sources": [source]}).source("v")
    assert parsed is not None and parsed.api_base_url == base


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"{not json", "is not JSON"),
        (b'["a list"]', "holds no JSON object"),
        (b'{"type": "external_account"}', "credentials of type 'external_account'; a credentials_file holds"),
    ],
    ids=["missing", "not-json", "not-an-object", "not-a-type-loaded"],
)
def test_check_config_checks_the_credentials_file_contacting_nobody(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    credentials = tmp_path / "sa.json"
    if content is not None:
        credentials.write_bytes(content)
    config = tmp_path / "videohooks.toml"
    config.write_text(
        f'[[sources]]\nid = "veo"\nprovider = "vertex"\nproject = "vh-prod"\nlocation = "us-central1"\n'
        f'credentials_file = "{credentials}"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check-config", "--config", str(config)])
    assert result.exit_code == 2
    assert "credentials_file" in result.output and message in result.output
    credentials.write_bytes(b'{"type": "service_account"}')
    assert CliRunner().invoke(app, ["check-config", "--config", str(config)]).exit_code == 0


def test_a_key_and_a_credentials_file_are_not_both_taken(tmp_path: Path) -> None:
    credentials = tmp_path / "sa.json"
    credentials.write_bytes(b'{"type": "service_account"}')
    source = {
        "id": "v",
        "provider": "vertex",
        "project": "p",
        "location": "global",
        "api_key": "k",
        "credentials_file": str(credentials),
    }
    with pytest.raises(ConfigError, match="not both"):
        parse_config({"sources": [source]})


async def test_a_watched_operation_is_polled_to_its_video_with_oauth_tokens(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    token_endpoint: TokenEndpoint,
    service_account_file: Path,
    redis_url: str,
    prefix: str,
    rclient: redis.Redis,
) -> None:
    answers = iter(stored(name) for name in ("running", "running", "succeeded-gcs"))
    httpserver.expect_request(FETCH, headers=bearer("ya29.test-access-token-1")).respond_with_handler(
        lambda _: Response(next(answers), content_type="application/json")
    )
    data: dict[str, Any] = config_dict(prefix, redis_url, api_base(httpserver))
    source = vertex_source(httpserver, credentials_file=str(service_account_file), poll_interval_seconds=0.05)
    data["sources"] = [source.model_dump(mode="json", exclude={"api_key"}, exclude_none=True)]
    async with receiver_parts(parse_config(data), redis_url) as parts:
        assert await parts.watch("veo", OPERATION)
        await parts.run_until_idle()
    events = stream_events(rclient, f"{prefix}:events")
    assert [event["status"] for event in events] == ["running", "succeeded"]
    assert events[-1]["model"] == "veo-3.1-generate-001"
    assert events[-1]["assets"][0]["url"] == "gs://vh-veo-out/veo/17951760/sample_0.mp4"
    assert token_endpoint.issued == ["ya29.test-access-token-1"]
    logged = capsys.readouterr()
    assert "ya29." not in logged.out + logged.err, "an access token is never logged"
