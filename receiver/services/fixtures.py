"""Stored deliveries: provider payloads kept as files, replayed through the live path or the pipeline.

A fixture is one JSON file:

    {"source": "memories-main", "provider": "memories", "description": "...",
     "headers": {...},                      # optional: headers the provider sent (webhook-id, ...)
     "body": {...} | "body_text": "...",    # the payload, as JSON or as exact text
     "expected": {...} | null,              # the canonical event, without received_at
     "expected_outcome": "accepted",        # or quarantined, duplicate, ...; default accepted
     "expected_reason": "invalid_json",     # with quarantined: the dead-letter reason code
     "kind": "resource"}                    # optional: the body is the provider API's task object
                                            # (fetched or polled), not a callback; default "callback"

`received_at` is the one field a replay cannot reproduce; everything else of `expected` must match.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from receiver.foundation.errors import VideohooksError

FIXTURE_KINDS = ("callback", "resource")


class FixtureError(VideohooksError):
    """A fixture file that cannot be used, named with its path and the problem."""


@dataclass(frozen=True, slots=True)
class Fixture:
    path: Path
    source: str
    provider: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    expected: dict[str, Any] | None = None
    expected_outcome: str = "accepted"
    expected_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # "callback": posted by the provider; "resource": the task object its API returns, decoded with the
    # provider's `resource_versions` and never posted over HTTP.
    kind: str = "callback"

    @property
    def delivery_id(self) -> str | None:
        return self.headers.get("webhook-id")


def load_fixture(path: Path) -> Fixture:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise FixtureError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FixtureError(f"{path}: a fixture is a JSON object")
    missing = [key for key in ("source", "provider") if not isinstance(data.get(key), str)]
    if missing:
        raise FixtureError(f"{path}: missing {', '.join(missing)}")
    if "body_text" in data:
        body = str(data["body_text"]).encode()
    elif "body" in data:
        body = orjson.dumps(data["body"])
    else:
        raise FixtureError(f"{path}: needs body or body_text")
    kind = data.get("kind", "callback")
    if kind not in FIXTURE_KINDS:
        raise FixtureError(f"{path}: kind must be one of {', '.join(FIXTURE_KINDS)}, not {kind!r}")
    known = {
        "source",
        "provider",
        "description",
        "headers",
        "body",
        "body_text",
        "expected",
        "expected_outcome",
        "expected_reason",
        "kind",
    }
    return Fixture(
        path=path,
        source=data["source"],
        provider=data["provider"],
        body=body,
        headers={str(name).lower(): str(value) for name, value in (data.get("headers") or {}).items()},
        expected=data.get("expected"),
        expected_outcome=data.get("expected_outcome", "accepted"),
        expected_reason=data.get("expected_reason"),
        extra={key: value for key, value in data.items() if key not in known},
        kind=kind,
    )


def fixture_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given; directories searched recursively for `*.json`, in a stable order."""
    for path in paths:
        if path.is_dir():
            # Sorted by parts, which is how paths compare, without building each comparison's parts again.
            yield from sorted(
                (candidate for candidate in path.rglob("*.json") if candidate.is_file()), key=_parts
            )
        elif path.is_file():
            yield path
        else:
            raise FixtureError(f"{path}: no such file or directory")


def _parts(path: Path) -> tuple[str, ...]:
    return path.parts


def load_fixtures(paths: Iterable[Path]) -> list[Fixture]:
    return [load_fixture(path) for path in fixture_paths(paths)]
