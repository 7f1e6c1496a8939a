"""A console scenario in a real Redis: events, dead letters and a watch, written by the real publisher.

Shared by the console's page tests and its browser tests (whose screenshots show this scenario). Part
of it is hostile: markup in task ids, models, texts, asset URLs and dead-letter bodies, which every
page must show as text.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import orjson
from starlette.testclient import TestClient

from receiver.config import Config, parse_config
from receiver.core.jobs import JobQueue
from receiver.flow import poll
from receiver.wiring.connection import open_pipeline
from schemas.event import Asset, CanonicalEvent, Error, Status, Usage
from schemas.normalizing import DeliveryContext, build_event
from tests.support import ADMIN_TOKEN
from tests.support.config import config_dict

HOSTILE_TASK = '<script>alert("task")</script>'
HOSTILE_MODEL = "<img src=x onerror=alert(1)>"
HOSTILE_TEXT = "</pre><script>alert(2)</script>"
HOSTILE_URL = "javascript:alert(3)"
HOSTILE_BODY = b'{"task_id": "<script>alert(\\"dlq\\")</script>", "x": "</pre><svg onload=alert(4)>"'
WATCHED_TASK = "vid-watch-01"
OWN_SCRIPT = "/console/static/console.js"


def console_config(prefix: str, redis_url: str, api_base_url: str) -> Config:
    """The test config, its API sources polling `api_base_url` (the test's httpserver) slowly."""
    data: dict[str, Any] = config_dict(prefix, redis_url, api_base_url)
    for source in data["sources"]:
        if "poll_interval_seconds" in source:
            source["poll_interval_seconds"] = 60
    return parse_config(data)


def memories_body(task_id: str) -> bytes:
    return orjson.dumps(
        {
            "code": 200,
            "message": "SUCCESS",
            "task_id": task_id,
            "data": {
                "msg": "ok",
                "success": True,
                "data": {"data": [{"start_time": 0.0, "end_time": 1.5, "transcript": "a dog on a beach"}]},
            },
        }
    )


def event(source: str, provider: str, task_id: str, status: Status, **fields: Any) -> CanonicalEvent:
    ctx = DeliveryContext(source, provider, datetime.now(UTC))
    return build_event(ctx, task_id=task_id, task_type="generation", status=status, **fields)


@dataclass(frozen=True)
class Scenario:
    redrivable_id: str  # a dead letter the current schemas decode
    hostile_id: str  # a dead letter whose body is markup


def scenario_events() -> list[CanonicalEvent]:
    video = Asset("video", "file:///var/videohooks/assets/veo-relay/vid-7f3a/0-video.mp4", None)
    return [
        event("veo-relay", "openai-compatible", "vid-7f3a", "queued", model="veo3.1"),
        event("veo-relay", "openai-compatible", "vid-7f3a", "running", model="veo3.1"),
        event(
            "veo-relay",
            "openai-compatible",
            "vid-7f3a",
            "succeeded",
            model="veo3.1",
            usage=Usage(input_tokens=1200, output_tokens=64000),
            assets=[video],
        ),
        event(
            "openai-main",
            "openai",
            "video_68d2",
            "succeeded",
            model="sora-2",
            usage=Usage(input_tokens=800, output_tokens=42000),
        ),
        event("openai-main", "openai", "video_91aa", "running", model="sora-2"),
        event(
            "bailian-main",
            "bailian",
            "bl-20931",
            "succeeded",
            model="qwen-vl-max",
            usage=Usage(input_tokens=15000, output_tokens=3100),
        ),
        event(
            "twelvelabs-main",
            "twelvelabs",
            "tl-5521",
            "failed",
            error=Error(code="index_failed", message="the video could not be indexed"),
        ),
        event(
            "memories-open",
            "memories",
            HOSTILE_TASK,
            "succeeded",
            model=HOSTILE_MODEL,
            text=HOSTILE_TEXT,
            usage=Usage(input_tokens=10, output_tokens=20),
            assets=[Asset("video", HOSTILE_URL, None)],
        ),
    ]


async def _seed(config: Config, redis_url: str) -> Scenario:
    async with open_pipeline(config, redis_url) as (redis, pipeline):
        publisher = pipeline.publisher
        for item in scenario_events():
            await publisher.publish(item)
        received = datetime.now(UTC)
        redrivable = await publisher.quarantine(
            "memories-open",
            "unknown_schema_version",
            "no schema version of memories accepts this body",
            {"content-type": "application/json"},
            memories_body("mem-redrive-1"),
            received,
        )
        hostile = await publisher.quarantine(
            "memories-open",
            "invalid_json",
            'expected "}" at byte 80 <b>bold?</b>',
            {"content-type": "text/html", "x-evil": "<script>alert(5)</script>"},
            HOSTILE_BODY,
            received,
        )
        await publisher.quarantine(
            "memories-signed",
            "invalid_utf8",
            "byte 0xff at 12 is not UTF-8",
            {},
            b'{"task": "\xff\xfe"}',
            received,
        )
        veo = config.source("veo-relay")
        assert veo is not None
        await poll.watch(JobQueue(redis, config.redis.prefix), veo, WATCHED_TASK, time.time())
    return Scenario(redrivable, hostile)


def seed(config: Config, redis_url: str) -> Scenario:
    return asyncio.run(_seed(config, redis_url))


class Elements(HTMLParser):
    """Every element and attribute of a page as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(page: str) -> None:
    """Nothing a delivery sent became markup: our one script, no handler, no javascript: link."""
    parser = Elements()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag not in {"img", "iframe", "object", "embed", "base", "meta"} or (
            tag == "meta" and set(attrs) <= {"charset", "name", "content"}
        ), (tag, attrs)
        if tag == "script":
            assert attrs == {"src": OWN_SCRIPT, "defer": None}, attrs
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src", "action"):
            assert not (attrs.get(name) or "").lower().startswith("javascript:"), (tag, attrs)
    assert len(re.findall(r"<script", page, flags=re.IGNORECASE)) <= 1


# The origin a TestClient sends from: the console's CSRF and Origin checks accept it.
ORIGIN = "http://testserver"


def sign_in(client: TestClient, token: str = ADMIN_TOKEN) -> Any:
    """Sign in to the console: its session cookie stays on the client."""
    return client.post(
        "/console/login", data={"token": token}, headers={"origin": ORIGIN}, follow_redirects=False
    )
