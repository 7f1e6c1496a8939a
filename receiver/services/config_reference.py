"""The README's configuration table, generated from the settings models, so that no key and no default
can differ between the two.

One row per key: its place (`[redis] url`, `[[sources]] api_key`), its default as the model has it,
and a meaning. Keys and defaults come from the models; meanings are prose, kept from the table already
in the README (a new key gets an empty one, to be written). `python -m receiver.services.config_reference`
rewrites the table between the README's markers; `--check` exits 1 when it is out of date (the suite
runs the same comparison).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from receiver.config import Config, RetentionConfig
from receiver.foundation.asset_settings import AssetsConfig
from receiver.providers import PROVIDERS
from receiver.sources import SourceConfig

START = "<!-- configuration table: generated from the settings models (make config-table) -->"
END = "<!-- end of the configuration table -->"
HEADER = "| key | default | meaning |\n|---|---|---|"


def _default(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    if field.is_required():
        return "(required)"
    value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
    if value is PydanticUndefined or value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, BaseModel):
        return "(table)"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value!r}`"


def _section(
    label: str, model: type[BaseModel], skip: frozenset[str] = frozenset()
) -> Iterator[tuple[str, str]]:
    for name in model.model_fields:
        if name not in skip:
            yield f"`{label} {name}`", _default(model, name)


def _source_rows() -> Iterator[tuple[str, str]]:
    """The keys every source has, with the default each provider's model gives ("per provider" where
    they differ), then each provider's own keys, labelled with the providers that take them."""
    models = [provider.settings for provider in PROVIDERS.values()]
    for name in SourceConfig.model_fields:
        defaults = {_default(model, name) for model in models if name in model.model_fields}
        if name == "verify":  # set before validation, from each provider's DEFAULT_VERIFY
            defaults = {f'`"{model.DEFAULT_VERIFY}"`' for model in models}
        yield f"`[[sources]] {name}`", defaults.pop() if len(defaults) == 1 else "per provider"
    own: dict[str, list[str]] = {}
    for provider in PROVIDERS.values():
        for name in provider.settings.model_fields:
            if name not in SourceConfig.model_fields:
                own.setdefault(name, []).append(provider.id)
    for name, providers in own.items():
        model = PROVIDERS[providers[0]].settings
        yield f"`[[sources]] {name}` ({', '.join(providers)} only)", _default(model, name)


def rows() -> list[tuple[str, str]]:
    """(key, default) of every configuration key, in the order of the models."""
    sections: dict[str, Any] = {
        name: Config.model_fields[name].annotation
        for name in ("server", "admin", "limits", "events", "telemetry")
    }
    redis: Any = Config.model_fields["redis"].annotation
    return [
        *_section("[redis]", redis, frozenset({"retention"})),
        *_section("[redis.retention]", RetentionConfig),
        *_source_rows(),
        *(row for name, model in sections.items() for row in _section(f"[{name}]", model)),
        *_section("[assets]", AssetsConfig),
    ]


def meanings(readme: str) -> dict[str, str]:
    """The meaning of each key in the README's table as it stands."""
    found = {}
    for line in _table(readme).splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == 3:
            found[cells[0]] = cells[2]
    return found


def table(known: Mapping[str, str]) -> str:
    lines = [HEADER, *(f"| {key} | {default} | {known.get(key, '')} |" for key, default in rows())]
    return "\n".join(lines)


def _table(readme: str) -> str:
    match = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), readme, flags=re.S)
    if match is None:
        raise ValueError(f"the README has no configuration table between {START!r} and {END!r}")
    return match.group(1)


def regenerated(readme: str) -> str:
    """The README with its table made from the models, meanings kept."""
    return readme.replace(_table(readme), table(meanings(readme)))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [arg for arg in argv if not arg.startswith("--")] or ["README.md"]
    path = Path(paths[0])
    text = path.read_text(encoding="utf-8")
    updated = regenerated(text)
    if check:
        if updated != text:
            sys.stderr.write(f"{path}: the configuration table differs from the settings models\n")
            return 1
        return 0
    path.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
