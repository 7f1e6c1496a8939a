"""Assets through the whole pipeline: a fetched video copied into the store before its event is
published, inline media written to the store or refused without one, and `[events] version`."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from pytest_httpserver import HTTPServer

from receiver.config import Config
from receiver.core.delivery import Delivery
from receiver.foundation.errors import Quarantine
from schemas.event import Asset, CanonicalEvent
from schemas.normalizing import DeliveryContext, build_event
from tests.support import API_KEY, stream_entries, stream_events
from tests.support.api import api_base, receiver_parts, video, webhook
from tests.support.config import config_with

VIDEO = "video_copy_1"
MEDIA = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64


async def test_a_fetched_video_is_copied_before_its_event_is_published(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis, tmp_path: Path
) -> None:
    httpserver.expect_request(f"/v1/videos/{VIDEO}").respond_with_json(video(VIDEO))
    # The content route is the source's own API host: the key goes with it, as OpenAI requires.
    httpserver.expect_request(
        f"/v1/videos/{VIDEO}/content", headers={"authorization": f"Bearer {API_KEY}"}
    ).respond_with_data(MEDIA, content_type="video/mp4")
    config = config_with(prefix, redis_url, api_base(httpserver), assets={"store": str(tmp_path)})
    async with receiver_parts(config, redis_url) as parts:
        outcome = await parts.deliver("openai-main", webhook(VIDEO), "msg_copy")
        assert outcome.status == "accepted"
        await parts.run_until_idle()
    [event] = stream_events(rclient, f"{prefix}:events")
    [asset] = event["assets"]
    stored = tmp_path / "openai-main" / VIDEO / "0-video.mp4"
    assert asset == {
        "kind": "video",
        "url": stored.resolve().as_uri(),
        "expires_at": None,
        "source_url": f"{api_base(httpserver)}/v1/videos/{VIDEO}/content",
        "content_type": "video/mp4",
        "bytes": len(MEDIA),
        "sha256": hashlib.sha256(MEDIA).hexdigest(),
    }
    assert stored.read_bytes() == MEDIA
    assert event["schema_version"] == 2


async def test_version_1_consumers_get_the_version_1_shape(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    httpserver.expect_request(f"/v1/videos/{VIDEO}").respond_with_json(video(VIDEO))
    config = config_with(prefix, redis_url, api_base(httpserver), events={"version": 1})
    async with receiver_parts(config, redis_url) as parts:
        await parts.deliver("openai-main", webhook(VIDEO), "msg_v1")
        await parts.run_until_idle()
    [entry] = stream_entries(rclient, f"{prefix}:events")
    event = orjson.loads(entry["event"])
    assert (entry["schema_version"], event["schema_version"]) == (b"1", 1)
    assert set(event["assets"][0]) == {"kind", "url", "expires_at"}


def inline_event_parts(tmp_path: Path | None, prefix: str, redis_url: str, api: str) -> Config:
    sections: dict[str, Any] = {} if tmp_path is None else {"assets": {"store": str(tmp_path)}}
    return config_with(prefix, redis_url, api, **sections)


async def test_inline_media_goes_to_the_store_never_into_redis(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis, tmp_path: Path
) -> None:
    config = inline_event_parts(tmp_path, prefix, redis_url, api_base(httpserver))
    body = orjson.dumps({"media": {"data": base64.b64encode(MEDIA).decode()}})
    event = _inline_event()
    async with receiver_parts(config, redis_url) as parts:
        stored = await parts.pipeline.materialize(event, body)
        outcome = await parts.pipeline.release(stored, "a callback")
    assert outcome.status == "accepted"
    [published] = stream_events(rclient, f"{prefix}:events")
    [asset] = published["assets"]
    assert (asset["source_url"], asset["bytes"], asset["sha256"]) == (
        None,
        len(MEDIA),
        hashlib.sha256(MEDIA).hexdigest(),
    )
    assert Path(asset["url"].removeprefix("file://")).read_bytes() == MEDIA
    encoded = base64.b64encode(MEDIA)
    assert not any(
        encoded[:64] in value
        for entry in stream_entries(rclient, f"{prefix}:events")
        for value in entry.values()
    )


async def test_inline_media_without_a_store_is_quarantined_without_the_media(
    httpserver: HTTPServer, redis_url: str, prefix: str, rclient: redis.Redis
) -> None:
    config = inline_event_parts(None, prefix, redis_url, api_base(httpserver))
    encoded = base64.b64encode(MEDIA).decode()
    body = orjson.dumps({"id": "t1", "media": {"data": encoded}})
    event = _inline_event()
    async with receiver_parts(config, redis_url) as parts:
        source = config.source("openai-main")
        assert source is not None
        with pytest.raises(Quarantine) as refused:
            await parts.pipeline.materialize(event, body)
        # Every path keeps what it refused the same way.
        delivery = Delivery(source, body, "resource", "api", event.received_at)
        await parts.pipeline.keep(delivery, refused.value)
    assert stream_events(rclient, f"{prefix}:events") == []
    [letter] = stream_entries(rclient, f"{prefix}:dlq")
    assert letter["reason"] == b"inline_media_without_store"
    kept = orjson.loads(letter["body"])
    assert kept["id"] == "t1"
    assert kept["media"]["data"] == f"<inline media omitted: {len(encoded)} base64 characters>"


def _inline_event() -> CanonicalEvent:
    ctx = DeliveryContext("openai-main", "openai", datetime.now(UTC))
    return build_event(
        ctx,
        task_id="inline-1",
        task_type="generation",
        status="succeeded",
        assets=(Asset(kind="video", url="inline:/media/data", expires_at=None, content_type="video/mp4"),),
    )
