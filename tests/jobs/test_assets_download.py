"""Downloading an asset: streamed and measured, credentials for the API host only, no request forgery.

The provider plays on `httpserver`, which listens on 127.0.0.1: a loopback address, refused unless it
is the source's API host or private networks are allowed, which is itself under test here.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from receiver.assets.download import AssetError, Downloader, Tally, Trust, _public

MIB = 1024 * 1024
BODY = bytes(range(256)) * 4096  # 1 MiB
KEY = {"authorization": "Bearer sk-test-key"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=5) as http:
        yield http


async def download(
    client: httpx.AsyncClient, url: str, trust: Trust, max_bytes: int = 10 * MIB
) -> tuple[bytes, Tally]:
    async with Downloader(client, max_bytes).open(url, trust) as (chunks, tally):
        body = b"".join([chunk async for chunk in chunks])
    return body, tally


def api(httpserver: HTTPServer) -> Trust:
    """The source's API is this server: trusted, and given the credentials."""
    return Trust(api_base_url=httpserver.url_for("").rstrip("/"), credentials=KEY)


def other_host(httpserver: HTTPServer, path: str) -> str:
    """The same server under another name: another host as far as trust and credentials go."""
    other = "127.0.0.1" if httpserver.host == "localhost" else "localhost"
    return f"http://{other}:{httpserver.port}{path}"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
    ],
)
def test_only_public_addresses_are_public(address: str, public: bool) -> None:
    assert _public(ipaddress.ip_address(address)) is public


async def test_streams_the_body_with_its_size_sha256_and_type(
    httpserver: HTTPServer, client: httpx.AsyncClient
) -> None:
    httpserver.expect_request("/video.mp4").respond_with_data(BODY, content_type="video/mp4")
    body, tally = await download(client, httpserver.url_for("/video.mp4"), Trust(allow_private_networks=True))
    assert body == BODY
    assert (tally.bytes, tally.sha256, tally.content_type) == (
        len(BODY),
        hashlib.sha256(BODY).hexdigest(),
        "video/mp4",
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_loopback_host_is_refused_and_never_contacted(
    httpserver: HTTPServer, client: httpx.AsyncClient, host: str
) -> None:
    httpserver.expect_request("/video.mp4").respond_with_data(BODY)
    with pytest.raises(AssetError) as caught:
        await download(client, f"http://{host}:{httpserver.port}/video.mp4", Trust())
    assert caught.value.code == "asset_forbidden_address"
    assert not caught.value.retryable
    assert httpserver.log == []


async def test_the_api_host_is_trusted_and_gets_the_credentials(
    httpserver: HTTPServer, client: httpx.AsyncClient
) -> None:
    httpserver.expect_request("/v1/videos/v1/content", headers=KEY).respond_with_data(BODY)
    body, _ = await download(client, httpserver.url_for("/v1/videos/v1/content"), api(httpserver))
    assert body == BODY


async def test_credentials_go_to_no_other_host_not_even_after_a_redirect_back(
    httpserver: HTTPServer, client: httpx.AsyncClient
) -> None:
    trust = Trust(httpserver.url_for("").rstrip("/"), KEY, allow_private_networks=True)
    httpserver.expect_request("/content").respond_with_response(
        Response(status=302, headers={"location": other_host(httpserver, "/cdn")})
    )
    httpserver.expect_request("/cdn").respond_with_response(
        Response(status=302, headers={"location": httpserver.url_for("/back")})
    )
    httpserver.expect_request("/back").respond_with_data(BODY)
    body, _ = await download(client, httpserver.url_for("/content"), trust)
    assert body == BODY
    seen = [(request.path, request.headers.get("authorization")) for request, _ in httpserver.log]
    assert seen == [("/content", KEY["authorization"]), ("/cdn", None), ("/back", None)]
    assert f"http://{httpserver.log[1][0].host}/cdn" == other_host(httpserver, "/cdn")


async def test_a_redirect_from_the_api_host_to_a_private_address_is_refused(
    httpserver: HTTPServer, client: httpx.AsyncClient
) -> None:
    """Trust is per host: the API host may redirect, but where it sends must be public again."""
    httpserver.expect_request("/content").respond_with_response(
        Response(status=307, headers={"location": other_host(httpserver, "/internal")})
    )
    with pytest.raises(AssetError) as caught:
        await download(client, httpserver.url_for("/content"), api(httpserver))
    assert caught.value.code == "asset_forbidden_address"
    assert [request.path for request, _ in httpserver.log] == ["/content"]


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://example.com/x", "ftp://example.com/x"])
async def test_a_redirect_to_anything_but_http_is_refused(
    httpserver: HTTPServer, client: httpx.AsyncClient, location: str
) -> None:
    httpserver.expect_request("/content").respond_with_response(
        Response(status=302, headers={"location": location})
    )
    with pytest.raises(AssetError) as caught:
        await download(client, httpserver.url_for("/content"), Trust(allow_private_networks=True))
    assert caught.value.code == "asset_forbidden_redirect"
    assert not caught.value.retryable


async def test_redirects_are_followed_a_few_times_only(
    httpserver: HTTPServer, client: httpx.AsyncClient
) -> None:
    httpserver.expect_request("/loop").respond_with_response(
        Response(status=302, headers={"location": "/loop"})
    )
    with pytest.raises(AssetError, match="redirects") as caught:
        await download(client, httpserver.url_for("/loop"), Trust(allow_private_networks=True))
    assert caught.value.code == "asset_unavailable"
    assert len(httpserver.log) == 6


async def test_a_declared_length_above_max_bytes_is_refused_before_reading(
    httpserver: HTTPServer, client: httpx.AsyncClient
) -> None:
    httpserver.expect_request("/big").respond_with_data(BODY)
    with pytest.raises(AssetError) as caught:
        await download(
            client, httpserver.url_for("/big"), Trust(allow_private_networks=True), max_bytes=MIB - 1
        )
    assert (caught.value.code, caught.value.retryable) == ("asset_too_large", False)


async def test_an_undeclared_length_is_cut_off_at_max_bytes(
    httpserver: HTTPServer, client: httpx.AsyncClient
) -> None:
    served: list[int] = []

    def endless(request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(64):  # 64 MiB if nobody stops reading
                served.append(MIB)
                yield BODY

        return Response(chunks(), content_type="video/mp4")  # no Content-Length: chunked

    httpserver.expect_request("/stream").respond_with_handler(endless)
    with pytest.raises(AssetError) as caught:
        await download(
            client, httpserver.url_for("/stream"), Trust(allow_private_networks=True), max_bytes=3 * MIB
        )
    assert caught.value.code == "asset_too_large"
    assert sum(served) < 16 * MIB


@pytest.mark.parametrize(
    ("status", "retryable"), [(404, True), (503, True), (429, True), (403, False), (410, False)]
)
async def test_an_error_status_is_asset_unavailable(
    httpserver: HTTPServer, client: httpx.AsyncClient, status: int, retryable: bool
) -> None:
    httpserver.expect_request("/gone").respond_with_data(b"no", status=status)
    with pytest.raises(AssetError) as caught:
        await download(client, httpserver.url_for("/gone"), Trust(allow_private_networks=True))
    assert (caught.value.code, caught.value.retryable) == ("asset_unavailable", retryable)
    assert str(status) in caught.value.message
