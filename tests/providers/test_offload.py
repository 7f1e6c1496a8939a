"""A body decoded in the offload worker has the outcome it has on the event loop, byte for byte."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import orjson
import pytest

from bench.bodies import bailian_body, memories_body
from receiver.config import LimitsConfig
from receiver.core.decoding import decode, decode_resource
from receiver.core.offload import Offload
from receiver.foundation.errors import Quarantine
from receiver.providers import PROVIDER_SCHEMAS
from receiver.services.fixtures import Fixture, load_fixtures
from schemas.event import as_version, event_to_json
from schemas.normalizing import DeliveryContext
from tests.support import FIXTURES

FIXTURE_LIST = load_fixtures([FIXTURES])
RECEIVED_AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LIMITS = LimitsConfig(max_items=100_000)


@pytest.fixture(scope="module")
def offload() -> Iterator[Offload]:
    pool = Offload(LIMITS, offload_bytes=0)
    yield pool
    asyncio.run(pool.aclose())


def in_process(provider: str, body: bytes, ctx: DeliveryContext, resource: bool) -> tuple[str, str]:
    decoder = decode_resource if resource else decode
    try:
        return "event", event_to_json(decoder(PROVIDER_SCHEMAS[provider], body, ctx, LIMITS)).decode()
    except Quarantine as quarantine:
        return quarantine.reason, quarantine.detail


async def offloaded(
    offload: Offload, provider: str, body: bytes, ctx: DeliveryContext, resource: bool
) -> tuple[str, str]:
    try:
        event = await offload.decode(PROVIDER_SCHEMAS[provider], body, ctx, resource=resource)
    except Quarantine as quarantine:
        return quarantine.reason, quarantine.detail
    return "event", event_to_json(event).decode()


async def test_every_fixture_decodes_the_same_in_the_worker(offload: Offload) -> None:
    def context(fixture: Fixture) -> DeliveryContext:
        return DeliveryContext(fixture.source, fixture.provider, RECEIVED_AT, fixture.delivery_id)

    cases = [(f.provider, f.body, context(f), f.kind == "resource") for f in FIXTURE_LIST]
    here = [in_process(*case) for case in cases]
    there = await asyncio.gather(*(offloaded(offload, *case) for case in cases))
    assert there == here
    assert {outcome for outcome, _ in here} > {"event", "invalid_json", "unknown_schema_version"}


@pytest.mark.parametrize(
    ("provider", "build", "resource"), [("memories", memories_body, False), ("bailian", bailian_body, True)]
)
async def test_a_large_body_decodes_the_same_in_the_worker(
    offload: Offload, provider: str, build: Callable[[int], bytes], resource: bool
) -> None:
    body = build(1024 * 1024)
    ctx = DeliveryContext(f"{provider}-main", provider, RECEIVED_AT, "msg_1")
    expected = in_process(provider, body, ctx, resource)
    assert expected[0] == "event"
    assert await offloaded(offload, provider, body, ctx, resource) == expected


async def test_workers_run_at_the_lowest_priority_and_a_dead_one_is_replaced(offload: Offload) -> None:
    executor = offload._executor()
    assert await asyncio.wrap_future(executor.submit(os.nice, 0)) == 19
    pid = await asyncio.wrap_future(executor.submit(os.getpid))
    os.kill(pid, signal.SIGKILL)
    fixture = FIXTURE_LIST[0]
    ctx = DeliveryContext(fixture.source, fixture.provider, RECEIVED_AT, fixture.delivery_id)
    resource = fixture.kind == "resource"
    expected = in_process(fixture.provider, fixture.body, ctx, resource)
    assert await offloaded(offload, fixture.provider, fixture.body, ctx, resource) == expected  # in process
    assert await offloaded(offload, fixture.provider, fixture.body, ctx, resource) == expected  # a new worker
    assert offload._executor() is not executor


async def test_an_offloaded_event_keeps_its_segments_in_the_version_1_shape(offload: Offload) -> None:
    """The worker sends the event without its segments but with its JSON: `[events] version = 1`
    must still publish every segment, made from that JSON."""
    body = memories_body(500)
    ctx = DeliveryContext("memories-main", "memories", RECEIVED_AT, "msg_v1")
    event = await offload.decode(PROVIDER_SCHEMAS["memories"], body, ctx, resource=False)
    local = decode(PROVIDER_SCHEMAS["memories"], body, ctx, LIMITS)
    assert event_to_json(as_version(event, 1)) == event_to_json(as_version(local, 1))
    assert len(orjson.loads(event_to_json(as_version(event, 1)))["segments"]) == len(local.segments) > 0
