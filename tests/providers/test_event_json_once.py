"""An event is serialized once: decode's overflow check and the publisher share the bytes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import orjson

from receiver.core.decoding import decode
from receiver.providers import PROVIDER_SCHEMAS
from receiver.services.fixtures import load_fixture
from schemas.event import event_from_json, event_to_json
from schemas.normalizing import DeliveryContext
from tests.support import FIXTURES


def test_the_bytes_kept_on_the_event_are_its_json_and_nothing_else() -> None:
    fixture = load_fixture(FIXTURES / "memories" / "many-segments.json")
    ctx = DeliveryContext(fixture.source, fixture.provider, datetime.now(UTC), "msg_1")
    event = decode(PROVIDER_SCHEMAS["memories"], fixture.body, ctx)
    first = event_to_json(event)
    assert event_to_json(event) is first  # decode serialized it; the publisher takes the same bytes
    assert b"_json" not in first
    assert event_from_json(first) == event
    changed = replace(event, delivery_id="msg_2")
    assert orjson.loads(event_to_json(changed))["delivery_id"] == "msg_2"
    assert changed != event
