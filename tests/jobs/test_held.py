"""Held events: accepted and decoded, not published yet (waiting for an asset copy or a fetch), shown by
the task record, `videohooks task`, the console's task page and its overview."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient
from werkzeug import Response

from receiver.config import Config
from receiver.http.app import create_app
from receiver.services.taskrecord import TaskRecord, read_task
from tests.support import ADMIN_HEADERS, ADMIN_TOKEN
from tests.support.api import Parts, api_base, receiver_parts, video, webhook
from tests.support.config import config_with
from tests.support.deliveries import signed_headers
from tests.support.waiting import wait_until

VIDEO = "video_held_1"
ORIGIN = "http://testserver"


def seconds(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()


async def record_of(parts: Parts) -> TaskRecord | None:
    keys = parts.pipeline.publisher.keys
    return await read_task(parts.redis, keys, parts.queue, "openai-main", VIDEO, fetch_deadline_seconds=600)


@pytest.fixture
def held_config(httpserver: HTTPServer, redis_url: str, prefix: str, tmp_path: Path) -> Config:
    """openai-main fetches the video object; its content answers 503, so the copy is retried."""
    # Expiring tomorrow: a copy failing now is retried until the deadline.
    tomorrow = int(time.time()) + 86400
    httpserver.expect_request(f"/v1/videos/{VIDEO}").respond_with_json(video(VIDEO, expires_at=tomorrow))
    httpserver.expect_request(f"/v1/videos/{VIDEO}/content").respond_with_response(
        Response("busy", status=503)
    )
    return config_with(prefix, redis_url, api_base(httpserver), assets={"store": str(tmp_path)})


async def test_a_fetch_then_a_copy_hold_the_event_and_the_record_says_so(
    held_config: Config, redis_url: str
) -> None:
    async with receiver_parts(held_config, redis_url) as parts:
        assert (await parts.deliver("openai-main", webhook(VIDEO), "msg_held")).status == "accepted"
        fetching = await record_of(parts)
        assert fetching is not None and fetching.statuses == [] and fetching.final is False
        [held] = fetching.held
        assert (held.status, held.reason, held.asset_errors) == ("succeeded", "fetch", [])
        assert seconds(held.until) - seconds(held.since) == pytest.approx(600)

        # The fetch succeeds; the copy fails (503) and is retried: the event is held for its copy now.
        for _ in range(5):
            await parts.runner.run_due()
            copying = await record_of(parts)
            assert copying is not None
            if copying.held and copying.held[0].asset_errors:
                break
        assert copying is not None
        [held] = copying.held
        assert (held.status, held.reason) == ("succeeded", "asset_copy")
        # The example's deadline_seconds (3600, the default) bounds the wait.
        assert seconds(held.until) - seconds(held.since) == pytest.approx(3600)
        [failure] = held.asset_errors
        assert failure.index == 0 and failure.final is False and "503" in failure.message
        assert copying.statuses == [] and copying.final is False


def test_the_route_the_console_task_page_and_overview_show_a_held_event(
    held_config: Config, redis_url: str
) -> None:
    with TestClient(create_app(held_config), base_url=ORIGIN) as client:
        delivered = client.post(
            "/v1/callbacks/openai-main",
            content=webhook(VIDEO),
            headers=signed_headers(webhook(VIDEO), "msg_held_route"),
        )
        assert delivered.status_code == 202, delivered.text
        record = wait_for_copy_failure(client)
        [held] = record["held"]
        assert set(held) == {"status", "reason", "since", "until", "asset_errors"}
        assert (held["status"], held["reason"], record["final"]) == ("succeeded", "asset_copy", False)

        signed_in = client.post(
            "/console/login", data={"token": ADMIN_TOKEN}, headers={"origin": ORIGIN}, follow_redirects=False
        )
        assert signed_in.status_code == 303
        page = client.get(f"/console/tasks/openai-main/{VIDEO}")
        assert page.status_code == 200
        assert "<h2>Held</h2>" in page.text and "the assets&#39; copy" in page.text
        assets = page.text.split("<h2>Assets</h2>")[1]
        # Not copied: the provider's URL is not shown as where the asset is stored.
        row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", assets, flags=re.S)
        assert row is not None
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), flags=re.S)
        assert cells[1] == "not copied" and cells[2].endswith(f"/v1/videos/{VIDEO}/content")
        assert "503" in cells[-1]

        overview = client.get("/console/").text
        assert "<h2>Held events</h2>" in overview
        assert f'/console/tasks/openai-main/{VIDEO}">{VIDEO}</a>' in overview


def wait_for_copy_failure(client: TestClient) -> dict[str, Any]:
    """The task record once the app's own job runner has fetched the video and failed its copy once."""
    found: dict[str, Any] = {}

    def failed_once() -> bool:
        answer = client.get(f"/v1/sources/openai-main/tasks/{VIDEO}", headers=ADMIN_HEADERS)
        if answer.status_code != 200:
            return False
        found.update(answer.json())
        held = found.get("held") or []
        return bool(held) and bool(held[0]["asset_errors"])

    wait_until(failed_once, timeout=20)
    return found
