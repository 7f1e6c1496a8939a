"""Every field of every stored delivery, replaced by an extreme value: `decode` gives an event or a
`Quarantine`, never another exception (which the app would answer with a 500, and the provider retry
forever). A value that validates but cannot be converted (a date past the year 9999) must quarantine."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from receiver.core.decoding import decode, decode_resource
from receiver.foundation.errors import Quarantine
from receiver.providers import PROVIDER_SCHEMAS
from receiver.services.fixtures import Fixture, load_fixtures
from schemas.normalizing import DeliveryContext
from tests.support import FIXTURES

EXTREMES: list[Any] = [
    1.7e308,
    1e300,
    -1e300,
    9.2e18,
    2**64 - 1,
    -(2**63),
    0,
    -1,
    1.5,
    "",
    "x" * 300,
    None,
    True,
    [],
    {},
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2026-13-45T99:99:99Z",
]

# The fixtures whose body parses (the rest are the gate's own cases), each a document to mutate.
GATE_REASONS = {"invalid_json", "empty_body", "invalid_utf8", "not_an_object", "duplicate_keys"}
JSON_FIXTURES = [
    fixture for fixture in load_fixtures([FIXTURES]) if fixture.expected_reason not in GATE_REASONS
]


def field_paths(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key path of a document; of each array only the first item, which stands for the rest."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from field_paths(child, (*path, key))
    elif isinstance(value, list) and value:
        yield from field_paths(value[0], (*path, 0))


def replaced(document: Any, path: tuple[str | int, ...], value: Any) -> bytes:
    changed = copy.deepcopy(document)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return orjson.dumps(changed)


@pytest.mark.parametrize(
    "fixture", JSON_FIXTURES, ids=[f"{f.path.parent.name}/{f.path.name}" for f in JSON_FIXTURES]
)
def test_no_field_value_crashes_the_normalizer(fixture: Fixture) -> None:
    document = orjson.loads(fixture.body)
    decoder = decode_resource if fixture.kind == "resource" else decode
    ctx = DeliveryContext(fixture.source, fixture.provider, datetime.now(UTC), None)
    for path in field_paths(document):
        for value in EXTREMES:
            with contextlib.suppress(Quarantine):  # anything else fails the test
                decoder(PROVIDER_SCHEMAS[fixture.provider], replaced(document, path, value), ctx)
