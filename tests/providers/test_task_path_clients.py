"""Luma's and Ark's task APIs: one GET below `api_base_url` with the Bearer key, errors as RemoteErrors."""

from __future__ import annotations

import re

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from receiver.clients.base import ResourceClient
from receiver.config import parse_config
from receiver.providers import PROVIDERS
from tests.support import API_KEY, TOKEN, remote_error_of

# provider, the base's own path (Ark's API lives under /api/v3), the task, the path asked for.
CASES = [
    ("luma", "", "7f3c2a1e-5b6d-4c8e-9f0a-1b2c3d4e5f60", "/dream-machine/v1/generations/"),
    ("ark", "/api/v3", "cgt-20261120115800-x7k2p", "/api/v3/contents/generations/tasks/"),
]
cases = pytest.mark.parametrize(
    ("provider", "prefix", "task", "path"), CASES, ids=[case[0] for case in CASES]
)


def client_for(provider: str, base: str) -> ResourceClient:
    data = {"id": "t", "provider": provider, "secrets": [TOKEN], "api_key": API_KEY, "api_base_url": base}
    [source] = parse_config({"sources": [data]}).sources
    factory = PROVIDERS[provider].client
    assert factory is not None
    return factory(source)


def test_the_default_bases_are_the_providers_own() -> None:
    bases = {
        provider: parse_config({"sources": [{"id": "t", "provider": provider, "secrets": [TOKEN]}]})
        .sources[0]
        .api_base_url
        for provider in ("luma", "ark")
    }
    assert bases == {"luma": "https://api.lumalabs.ai", "ark": "https://ark.cn-beijing.volces.com/api/v3"}


@cases
async def test_the_task_is_asked_for_with_the_bearer_key(
    httpserver: HTTPServer, provider: str, prefix: str, task: str, path: str
) -> None:
    answer = b'{"id": "%s", "status": "running"}' % task.encode()
    httpserver.expect_request(
        path + task, method="GET", headers={"authorization": f"Bearer {API_KEY}"}
    ).respond_with_data(answer, content_type="application/json")
    client = client_for(provider, httpserver.url_for(prefix).rstrip("/"))
    try:
        assert await client.get_task(task) == answer
    finally:
        await client.aclose()


@cases
@pytest.mark.parametrize(("status", "retryable"), [(404, False), (401, False), (429, True), (503, True)])
async def test_errors_say_whether_asking_again_can_help(
    httpserver: HTTPServer, provider: str, prefix: str, task: str, path: str, status: int, retryable: bool
) -> None:
    httpserver.expect_request(path + task).respond_with_json({"error": {"code": "x"}}, status=status)
    client = client_for(provider, httpserver.url_for(prefix).rstrip("/"))
    try:
        error = await remote_error_of(client, task)
    finally:
        await client.aclose()
    assert (error.status, error.retryable) == (status, retryable)


@cases
async def test_a_task_id_cannot_leave_its_path(
    httpserver: HTTPServer, provider: str, prefix: str, task: str, path: str
) -> None:
    seen: list[tuple[str, bytes]] = []

    def record(request: Request) -> Response:
        seen.append((request.path, request.query_string))
        return Response(b"{}", content_type="application/json")

    httpserver.expect_request(re.compile(".*")).respond_with_handler(record)
    client = client_for(provider, httpserver.url_for(prefix).rstrip("/"))
    try:
        assert await client.get_task("../secrets?x=1") == b"{}"
    finally:
        await client.aclose()
    # Quoted whole: no query string, no path segment of its own (the server decodes %2F only now).
    assert seen == [(path + "../secrets?x=1", b"")]
