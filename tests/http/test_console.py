"""The operator console through HTTP: sign-in, the pages over a seeded Redis, redrive, and its defences."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import redis
from markupsafe import escape
from pytest_httpserver import HTTPServer
from redis.asyncio import Redis
from starlette.testclient import TestClient

from receiver.config import Config, parse_config
from receiver.console.session import COOKIE
from receiver.console.views import UsageRow, aggregate_usage, bar_chart
from receiver.core.publisher import Publication, Publisher
from receiver.foundation.keys import KeySpace
from receiver.http.app import create_app
from schemas.event import Error
from schemas.normalizing import DeliveryContext, build_event
from tests.support import ADMIN_TOKEN, redis_bytes
from tests.support.config import config_dict
from tests.support.console import (
    HOSTILE_MODEL,
    HOSTILE_TASK,
    HOSTILE_TEXT,
    ORIGIN,
    WATCHED_TASK,
    Scenario,
    assert_inert,
    console_config,
    seed,
    sign_in,
)
from tests.support.corpus import CORPUS, build_request, corpus_config

PAGES = ["/console/", "/console/events", "/console/dlq", "/console/watched", "/console/usage"]


@pytest.fixture
def config(prefix: str, redis_url: str, httpserver: HTTPServer) -> Config:
    return console_config(prefix, redis_url, httpserver.url_for("").rstrip("/"))


@pytest.fixture
def scenario(config: Config, redis_url: str) -> Scenario:
    return seed(config, redis_url)


@pytest.fixture
def console(config: Config, scenario: Scenario) -> Iterator[TestClient]:
    with TestClient(create_app(config), base_url=ORIGIN) as client:
        sign_in(client)
        yield client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_without_an_admin_token_every_console_path_is_404(prefix: str, redis_url: str) -> None:
    data = config_dict(prefix, redis_url)
    data["admin"] = {}
    with TestClient(create_app(parse_config(data))) as client:
        for path in ["/console", "/console/", "/console/login", "/console/static/console.css", "/console/x"]:
            assert client.get(path, follow_redirects=False).status_code == 404, path
        assert client.post("/console/login", data={"token": "x"}).status_code == 404


def test_sign_in_gives_a_strict_session_cookie(config: Config) -> None:
    with TestClient(create_app(config), base_url=ORIGIN) as client:
        assert client.get("/console/", follow_redirects=False).headers["location"] == "/console/login"
        assert client.get("/console/events/rows").status_code == 401
        wrong = sign_in(client, "not-the-token")
        assert wrong.status_code == 401
        assert "set-cookie" not in wrong.headers
        answer = sign_in(client)
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        for attribute in ["HttpOnly", "SameSite=strict", "Path=/console", "Max-Age=28800"]:
            assert attribute.lower() in cookie.lower(), cookie
        assert ADMIN_TOKEN not in cookie
        page = client.get("/console/")
        assert page.status_code == 200
        assert "Sources" in page.text
        # A forged or tampered cookie is no session.
        client.cookies.set(COOKIE, cookie.split(";")[0].split("=", 1)[1][:-2] + "xx", path="/console")
        assert client.get("/console/", follow_redirects=False).status_code == 303


def test_every_page_carries_the_security_headers(console: TestClient) -> None:
    for path in [*PAGES, "/console/login", "/console/static/console.css", "/console/static/console.js"]:
        answer = console.get(path)
        assert answer.status_code == 200, path
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_pages_hold_no_inline_script_or_style(console: TestClient) -> None:
    for path in PAGES:
        page = console.get(path).text
        assert re.findall(r"<script[^>]*>", page) == ['<script src="/console/static/console.js" defer>']
        assert "<style" not in page and " style=" not in page, path
        assert "http://" not in page.replace(ORIGIN, "") and "https://" not in page, path


def test_overview_counts_each_source(console: TestClient) -> None:
    page = console.get("/console/").text
    row = re.search(r"<tr>\s*<td><a [^>]*>veo-relay</a></td>(.*?)</tr>", page, flags=re.S)
    assert row, page
    cells = row.group(1)
    assert "queued 1" in cells and "running 1" in cells and "succeeded 1" in cells
    # One watched task on veo-relay, not overdue.
    assert re.findall(r'<td class="num">(\d+)</td>', cells)[-3:] == ["1", "0", "0"]  # watched, overdue, held
    memories = re.search(r"<tr>\s*<td><a [^>]*>memories-open</a></td>(.*?)</tr>", page, flags=re.S)
    assert memories and '/console/dlq?source=memories-open">2</a>' in memories.group(1)


def test_events_filter_by_source_status_and_task(console: TestClient) -> None:
    page = console.get("/console/events", params={"source": "veo-relay"}).text
    assert page.count("vid-7f3a</a>") == 3 and "video_68d2" not in page
    page = console.get("/console/events", params={"status": "succeeded"}).text
    assert "vid-7f3a</a>" in page and "video_68d2</a>" in page and "video_91aa" not in page
    rows = console.get("/console/events/rows", params={"task_id": "video_91aa"})
    assert rows.status_code == 200
    assert rows.text.count("<tr>") == 1 and "running" in rows.text and "<html" not in rows.text
    bad = console.get("/console/events", params={"status": "nope"})
    assert "status must be one of" in bad.text


def test_task_timeline_shows_statuses_raw_json_and_assets(console: TestClient) -> None:
    page = console.get("/console/tasks/veo-relay/vid-7f3a").text
    statuses = re.findall(r'<span class="pill (\w+)">', page)
    assert statuses == ["queued", "running", "succeeded"]
    assert page.count("<pre>") == 3 and "&#34;task_id&#34;: &#34;vid-7f3a&#34;" in page
    assert "file:///var/videohooks/assets/veo-relay/vid-7f3a/0-video.mp4" in page
    watched = console.get(f"/console/tasks/veo-relay/{WATCHED_TASK}")
    assert watched.status_code == 200 and "Watched since" in watched.text
    assert console.get("/console/tasks/veo-relay/never-seen").status_code == 404


def test_usage_chart_adds_up_tokens_by_provider_and_model(console: TestClient) -> None:
    page = console.get("/console/usage").text
    assert "<svg" in page
    assert "65,200" in page and "42,800" in page and "18,100" in page
    labels = re.findall(r'class="label">([^<]*)</text>', page)
    assert labels[0] == "openai-compatible · veo3.1"


def test_aggregate_usage_and_bar_geometry() -> None:
    rows = aggregate_usage(
        [
            {"provider": "p", "model": "m", "usage": {"input_tokens": 10, "output_tokens": 30}},
            {"provider": "p", "model": "m", "usage": {"input_tokens": 10, "output_tokens": None}},
            {"provider": "q", "model": None, "usage": {"input_tokens": 5, "output_tokens": 5}},
            {"provider": "q", "model": "x", "usage": {}},
        ]
    )
    assert rows == [UsageRow("p", "m", 20, 30, 2), UsageRow("q", "unknown", 5, 5, 1)]
    chart = bar_chart(rows, plot_width=500)
    assert [(bar.input_width, bar.output_width) for bar in chart.bars] == [(200.0, 300.0), (50.0, 50.0)]


def test_redrive_one_then_all_of_a_reason(
    console: TestClient, scenario: Scenario, rclient: redis.Redis, prefix: str
) -> None:
    page = console.get("/console/dlq").text
    token = csrf_of(page)
    answer = console.post(
        "/console/dlq/redrive",
        data={"csrf": token, "entry_id": scenario.redrivable_id},
        headers={"origin": ORIGIN},
    )
    assert answer.status_code == 200
    assert ">accepted</span>" in answer.text, answer.text[answer.text.find("<tbody>") :]
    assert (
        console.get("/console/events", params={"task_id": "mem-redrive-1"}).text.count("mem-redrive-1</a>")
        == 1
    )
    again = console.post(
        "/console/dlq/redrive-reason",
        data={"csrf": token, "reason": "invalid_json"},
        headers={"origin": ORIGIN},
    )
    assert again.status_code == 200 and ">still_quarantined</span>" in again.text
    marks = rclient.hgetall(f"{prefix}:dlq:redriven")
    assert redis_bytes(marks[scenario.redrivable_id.encode()]).startswith(b"accepted ")


@pytest.mark.parametrize(
    ("headers", "with_token"),
    [
        ({"origin": ORIGIN}, False),
        ({"origin": "https://evil.example"}, True),
        ({"referer": "https://evil.example/page"}, True),
        ({"origin": "null"}, True),
    ],
    ids=["no-csrf-token", "foreign-origin", "foreign-referer", "opaque-origin"],
)
def test_cross_site_posts_are_refused(
    console: TestClient,
    scenario: Scenario,
    rclient: redis.Redis,
    prefix: str,
    headers: dict[str, str],
    with_token: bool,
) -> None:
    token = csrf_of(console.get("/console/dlq").text)
    data = {"entry_id": scenario.redrivable_id, **({"csrf": token} if with_token else {})}
    answer = console.post("/console/dlq/redrive", data=data, headers=headers)
    assert answer.status_code == 403
    assert answer.text in ("cross-origin request refused", "missing or wrong CSRF token")
    assert answer.headers["x-frame-options"] == "DENY"
    wrong = console.post("/console/dlq/redrive", data={**data, "csrf": "0" * 64}, headers={"origin": ORIGIN})
    assert wrong.status_code == 403
    assert rclient.hlen(f"{prefix}:dlq:redriven") == 0
    assert sign_in(console).status_code == 303
    login = console.post(
        "/console/login", data={"token": ADMIN_TOKEN}, headers=headers, follow_redirects=False
    )
    assert login.status_code == (303 if headers == {"origin": ORIGIN} else 403)


def test_another_sessions_csrf_token_is_refused(
    config: Config, console: TestClient, scenario: Scenario
) -> None:
    token = csrf_of(console.get("/console/dlq").text)
    with TestClient(create_app(config), base_url=ORIGIN) as other:
        sign_in(other)
        answer = other.post(
            "/console/dlq/redrive",
            data={"csrf": token, "entry_id": scenario.redrivable_id},
            headers={"origin": ORIGIN},
        )
        assert (answer.status_code, answer.text) == (403, "missing or wrong CSRF token")


def test_seeded_hostile_data_is_shown_as_text(console: TestClient, scenario: Scenario) -> None:
    pages = [*PAGES, f"/console/dlq/{scenario.hostile_id}", "/console/events/rows"]
    pages.append("/console/tasks/memories-open/" + HOSTILE_TASK.replace("/", "%2F"))
    for path in pages:
        answer = console.get(path)
        assert answer.status_code == 200, path
        assert_inert(answer.text)
    task_page = console.get(pages[-1]).text
    assert escape(HOSTILE_TASK) in task_page and escape(HOSTILE_MODEL) in console.get("/console/events").text
    assert escape(HOSTILE_TEXT) in task_page
    letter = console.get(f"/console/dlq/{scenario.hostile_id}").text
    assert "&lt;svg onload=alert(4)&gt;" in letter and "&lt;script&gt;alert(5)&lt;/script&gt;" in letter


def test_hostile_corpus_through_the_console(prefix: str, redis_url: str) -> None:
    """Every corpus case sent to the receiver, then every console page and dead letter: all inert."""
    config = corpus_config(prefix, redis_url)
    with TestClient(create_app(config), base_url=ORIGIN) as client:
        for case in CORPUS:
            path, headers, body = build_request(case, config)
            client.request(case.get("method", "POST"), path, content=body, headers=headers)
        sign_in(client)
        listing = client.get("/console/dlq")
        ids = re.findall(r'href="/console/dlq/([0-9]+-[0-9]+)"', listing.text)
        assert len(ids) == sum(1 for case in CORPUS if "reason" in case)
        for path in [*PAGES, *(f"/console/dlq/{entry_id}" for entry_id in ids)]:
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert_inert(answer.text)


def test_task_page_shows_a_superseded_event_and_the_decision_behind_each(
    console: TestClient, config: Config, redis_url: str
) -> None:
    ctx = DeliveryContext("veo-relay", "openai-compatible", datetime.now(UTC))
    complete = build_event(ctx, task_id="vid-cut", task_type="generation", status="succeeded")
    cut = replace(complete, error=Error("fetch_failed", "the API was down"))

    async def publish() -> Publication:
        async with Redis.from_url(redis_url) as client:
            keys = KeySpace(config.redis.prefix, config.redis.partitions, config.redis.cluster)
            publisher = Publisher(client, keys, dedupe_ttl_seconds=3600)
            await publisher.publish(cut, "a webhook whose fetch failed")
            return await publisher.publish(complete, "polled")

    publication = asyncio.run(publish())
    assert publication.outcome == "accepted" and publication.event_id != cut.event_id
    page = console.get("/console/tasks/veo-relay/vid-cut").text
    assert re.findall(r'<span class="pill (\w+)">', page) == ["succeeded", "succeeded"]
    assert "Decision: a webhook whose fetch failed" in page
    assert "Decision: polled: complete result" in page
    assert f'superseded by event <span class="mono">{publication.event_id}</span>' in page
