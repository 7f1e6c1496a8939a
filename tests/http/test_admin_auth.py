"""The admin bearer check every admin route starts with: off without a token, constant-time compare."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from receiver.config import parse_config
from receiver.foundation.errors import ErrorAnswer
from receiver.http.admin import require_admin
from receiver.http.middleware import answer_error
from receiver.wiring.runtime import Runtime


def app_with(token: str | None) -> Starlette:
    async def guarded(request: Request) -> Response:
        require_admin(request)
        return Response("ok")

    app = Starlette(routes=[Route("/admin", guarded)], exception_handlers={ErrorAnswer: answer_error})
    config = parse_config({"admin": {"token": token}} if token else {})
    app.state.runtime = Runtime(config=config, redis=None, pipeline=None, verifiers={})  # type: ignore[arg-type]
    return app


@pytest.mark.parametrize(
    ("token", "header", "status"),
    [
        (None, "Bearer anything", 404),
        ("s3cret-admin-token", None, 401),
        ("s3cret-admin-token", "Basic s3cret-admin-token", 401),
        ("s3cret-admin-token", "Bearer s3cret-admin-toke", 401),
        ("s3cret-admin-token", "Bearer ", 401),
        ("s3cret-admin-token", "Bearer s3cret-admin-token", 200),
        ("s3cret-admin-token", "bearer s3cret-admin-token", 200),
    ],
)
def test_admin_bearer(token: str | None, header: str | None, status: int) -> None:
    client = TestClient(app_with(token))
    response = client.get("/admin", headers={"authorization": header} if header else {})
    assert response.status_code == status
    assert "s3cret-admin" not in response.text
