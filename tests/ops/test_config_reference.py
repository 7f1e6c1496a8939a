"""The README's configuration table is the settings models' keys and defaults, row for row."""

from __future__ import annotations

from receiver.services.config_reference import END, START, meanings, regenerated, rows
from tests.support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_table_is_generated_from_the_models() -> None:
    assert regenerated(README) == README, "run `make config-table` and write a meaning for any new key"


def test_every_key_has_a_meaning_and_appears_once() -> None:
    known = meanings(README)
    keys = [key for key, _ in rows()]
    assert len(keys) == len(set(keys))
    assert [key for key in keys if not known.get(key)] == []


def test_a_changed_default_or_a_new_key_fails_the_comparison() -> None:
    changed = README.replace("| `[redis] wait_timeout_ms` | `500` |", "| `[redis] wait_timeout_ms` | `0` |")
    assert changed != README and regenerated(changed) != changed
    start = README.index(START)
    dropped = README[:start] + README[start:].replace(
        "| `[telemetry] service_name`", "| `[telemetry] gone`", 1
    )
    assert regenerated(dropped) != dropped
    assert README.index(END) > start
