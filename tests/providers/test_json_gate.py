"""The gate's fast path may only ever send a body to the exact parse, never let an ambiguous one by."""

from __future__ import annotations

import pytest

from receiver.config import LimitsConfig
from receiver.core.json_gate import screen
from receiver.foundation.errors import Quarantine

LIMITS = LimitsConfig()


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":1,"a":2}',
        b'{"a" :1,"a":2}',
        b'{"a":1, "a"\n:2}',
        b'{"x":"\\u0022:","a":1,"a":2}',
        b'{"x":"\\":","a":1,"a":2}',
        b'{"outer":{"b":[{"c":1,"c":1}]}}',
        b'{"\\u0061":1,"a":2}',
        b'{"url":"https://example.com/a:b","a":1,"a":2}',
        b'{"at":"10:00:00","o":{"k":1,"k":2}}',
    ],
)
def test_duplicate_keys_are_refused_however_written(body: bytes) -> None:
    with pytest.raises(Quarantine) as caught:
        screen(body, LIMITS)
    assert caught.value.reason == "duplicate_keys"


@pytest.mark.parametrize(
    "body", [b'{"n":-9223372036854775809}', b'{"n":18446744073709551616}', b'{"n":[1,123456789012345678901]}']
)
def test_integers_beyond_64_bits_are_refused(body: bytes) -> None:
    with pytest.raises(Quarantine) as caught:
        screen(body, LIMITS)
    assert caught.value.reason == "number_out_of_range"


@pytest.mark.parametrize(
    "body",
    [
        b'{"text":"he said \\": fine\\"","n":1}',
        b'{"id":"12345678901234567890123","n":-9223372036854775808}',
        b'{ "a" : 1 , "b" : { "a" : 2 } }',
    ],
)
def test_unambiguous_bodies_pass(body: bytes) -> None:
    screen(body, LIMITS)


def test_depth_is_exact_however_many_containers_sit_side_by_side() -> None:
    """Siblings are not nesting: 500 segment objects at one level pass a depth limit of 4."""
    segments = ",".join(f'{{"t":{i}}}' for i in range(500))
    screen(f'{{"data":{{"segments":[{segments}]}}}}'.encode(), LimitsConfig(max_depth=4))


@pytest.mark.parametrize(("depth", "refused"), [(4, False), (5, True)])
def test_depth_limit_counts_levels(depth: int, refused: bool) -> None:
    body = ('{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)).encode()
    if refused:
        with pytest.raises(Quarantine) as caught:
            screen(body, LimitsConfig(max_depth=4))
        assert caught.value.reason == "too_deep"
    else:
        screen(body, LimitsConfig(max_depth=4))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a":[1,2,3,4]}', "too_many_items"),
        (b'{"a":{"b":1,"c":2,"d":3,"e":4}}', "too_many_items"),
        (b'{"a":[1,2,3]}', None),
    ],
)
def test_item_limit_applies_to_arrays_and_objects(body: bytes, reason: str | None) -> None:
    limits = LimitsConfig(max_items=3)
    if reason is None:
        screen(body, limits)
        return
    with pytest.raises(Quarantine) as caught:
        screen(body, limits)
    assert caught.value.reason == reason


def test_strings_are_measured_only_in_bodies_longer_than_the_limit() -> None:
    limits = LimitsConfig(max_string_bytes=64)
    screen(b'{"k":"' + b"x" * 50 + b'","n":"' + b"y" * 50 + b'"}', limits)
    for body in (
        b'{"k":"' + b"x" * 65 + b'"}',
        b'{"' + b"k" * 65 + b'":1}',
        b'{"a":["' + "é".encode() * 33 + b'"]}',
    ):
        with pytest.raises(Quarantine) as caught:
            screen(body, limits)
        assert caught.value.reason == "string_too_long"
