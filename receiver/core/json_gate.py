"""The gate every authentic body passes before a schema sees it: strict JSON, within the limits.

Pydantic's JSON parser is lenient where a public endpoint should not be: it takes `NaN` and
`Infinity`, turns `1e400` into infinity (which a normalizer then cannot convert to milliseconds), lets
the last of two equal keys win, and nests 200 levels deep. orjson parses strictly (RFC 8259, UTF-8,
finite numbers only) in a few microseconds, and its error says which rule was broken, so each refusal
gets a reason code of its own. One walk over the parsed containers checks depth and item counts, counts
the keys and picks out the few strings that could be too long. Duplicate keys are refused rather than
resolved: two values under one name mean the sender is broken or something rewrote the body, and
guessing which one was meant is how parser differentials become exploits.
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Any

import orjson

from receiver.config import LimitsConfig
from receiver.foundation.errors import Quarantine


def screen(body: bytes, limits: LimitsConfig) -> dict[str, Any]:
    """The body's JSON object; `Quarantine` unless `body` is one strict JSON object within `limits`."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _parse_refusal(body, exc) from None
    if not isinstance(value, dict):
        raise Quarantine("not_an_object", f"the body is a JSON {_kind(value)}, not an object")
    keys = _measure(value, limits, len(body))
    if not _surely_unambiguous(body, keys):
        json.loads(body, object_pairs_hook=_unique_members, parse_int=_bounded_int)
    return value


# Digits 1-9 mapped to "0": any integer of 19 digits or more (one that may not fit 64 bits, which orjson
# would have read as a float) is then a run of "0"s that a plain substring search finds.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19
_WHITESPACE = b" \t\n\r"


def _surely_unambiguous(body: bytes, parsed_keys: int) -> bool:
    """True when the parsed value certainly kept every key and every integer of the body as written.

    orjson keeps the last of two equal keys and reads a huge integer as a float. The parsed objects
    hold at most as many keys as the body names. The body's colons are at least that many, and so are
    the quotes right before a colon once JSON's whitespace is deleted (every key, plus any escaped quote
    inside a string that happens to precede a colon); when either count equals the parsed keys, no key
    was dropped (the colon count, cheaper, settles every body without a colon inside a string). If no
    digit run is long enough to overflow, no integer was changed. Otherwise the exact, slower parse
    decides.
    """
    return body.translate(_DIGITS_AS_ZERO).find(_LONG_DIGIT_RUN) < 0 and (
        body.count(b":") == parsed_keys or body.translate(None, _WHITESPACE).count(b'":') == parsed_keys
    )


def _measure(root: dict[str, Any], limits: LimitsConfig, body_bytes: int) -> int:
    """The number of keys in the document, walked one nesting level at a time.

    Quarantine when a container nests deeper than `max_depth`, holds more than `max_items` items, or a key
    or string is longer than `max_string_bytes` once encoded. Iterative, so that depth cannot exhaust the
    interpreter's stack. A string of n characters encodes to at most 4n bytes (and to at most the body's
    length), so only the few strings longer than a quarter of the limit are encoded to be measured, and
    only once the walk is done: a container's own limits are refused first, whichever comes first.
    """
    # Below the limit, no string can be too long, and none is as long as the body.
    long_body = body_bytes > limits.max_string_bytes
    shortest_suspect = limits.max_string_bytes // 4 + 1 if long_body else body_bytes
    suspects: list[str] = []
    keys = 0
    depth = 1
    level: list[Any] = [root]
    while level:
        if depth > limits.max_depth:
            raise Quarantine("too_deep", f"the JSON nests deeper than {limits.max_depth} levels")
        below: list[Any] = []
        objects: list[dict[str, Any]] = []
        for node in level:
            if len(node) > limits.max_items:
                raise Quarantine(
                    "too_many_items", f"an array or object holds more than {limits.max_items} items"
                )
            if type(node) is dict:
                keys += len(node)
                if long_body:
                    objects.append(node)
                children = node.values()
            else:
                children = node
            for child in children:
                if type(child) is dict or type(child) is list:
                    below.append(child)
                elif long_body and type(child) is str and len(child) >= shortest_suspect:
                    suspects.append(child)
        if objects and max(map(len, chain.from_iterable(objects))) >= shortest_suspect:
            suspects.extend(key for node in objects for key in node if len(key) >= shortest_suspect)
        level = below
        depth += 1
    if any(len(text.encode()) > limits.max_string_bytes for text in suspects):
        raise Quarantine("string_too_long", f"a string is longer than {limits.max_string_bytes} bytes")
    return keys


def _bounded_int(text: str) -> int:
    """orjson reads an integer beyond 64 bits as a float; pydantic would keep it exact and the event
    could then not be serialized: refuse it, as a float beyond range is refused."""
    value = int(text)
    if not -(2**63) <= value < 2**64:
        raise Quarantine("number_out_of_range", f"the integer {text[:32]}... does not fit 64 bits")
    return value


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) == len(pairs):
        return members
    names = [name for name, _ in pairs]
    twice = next(name for index, name in enumerate(names) if name in names[:index])
    raise Quarantine("duplicate_keys", f"the key {twice[:64]!r} appears twice in one object")


def _parse_refusal(body: bytes, error: orjson.JSONDecodeError) -> Quarantine:
    message = str(error)
    if not body.strip():
        return Quarantine("empty_body", "the body is empty")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Quarantine("invalid_utf8", f"the body is not valid UTF-8: {exc.reason} at byte {exc.start}")
    if "infinity" in message:
        return Quarantine("number_out_of_range", f"a number does not fit a 64-bit float: {message}")
    if body[error.pos :].lstrip(b"-").startswith((b"NaN", b"Infinity")):
        return Quarantine("non_finite_number", f"NaN and Infinity are not JSON numbers: {message}")
    if "depth" in message:
        return Quarantine("too_deep", f"the JSON nests too deeply: {message}")
    return Quarantine("invalid_json", f"the body is not valid JSON: {message}")


def _kind(value: object) -> str:
    match value:
        case list():
            return "array"
        case str():
            return "string"
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case _:
            return "null"
