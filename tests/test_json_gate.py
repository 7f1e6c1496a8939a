"""The gate's fast path may only ever send a body to the exact parse, never let an ambiguous one by."""

from __future__ import annotations

import pytest

from receiver.config import LimitsConfig
from receiver.json_gate import Refused, screen

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
    ],
)
def test_duplicate_keys_are_refused_however_written(body: bytes) -> None:
    with pytest.raises(Refused) as caught:
        screen(body, LIMITS)
    assert caught.value.reason == "duplicate_keys"


@pytest.mark.parametrize(
    "body", [b'{"n":-9223372036854775809}', b'{"n":18446744073709551616}', b'{"n":[1,123456789012345678901]}']
)
def test_integers_beyond_64_bits_are_refused(body: bytes) -> None:
    with pytest.raises(Refused) as caught:
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
