"""Completeness: every registered provider has every part a provider needs, or this fails.

Adding a provider is a package under receiver/providers/, one under schemas/, a fixtures folder, a page
under docs/providers/ linked from the README's Providers table, and a registry line; a part left out
fails here, by name, before anything else notices.
"""

from __future__ import annotations

import re
import typing

import pytest
from pydantic import ValidationError

from receiver.config import parse_config
from receiver.providers import PROVIDERS, AnyProvider
from receiver.services.fixtures import fixture_paths, load_fixture
from receiver.verifiers import SIGNATURE_SCHEMES
from schemas.provider import SchemaVersion
from tests.support import FIXTURES, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE_CONFIG = (ROOT / "videohooks.example.toml").read_text(encoding="utf-8")

providers = pytest.mark.parametrize("provider", list(PROVIDERS.values()), ids=list(PROVIDERS))


def first_accepting(versions: tuple[SchemaVersion, ...], body: bytes) -> int | None:
    """The version a body is decoded by: the first (newest) one whose model validates it."""
    for version in versions:
        try:
            version.payload.model_validate_json(body)
        except ValidationError:
            continue
        return version.version
    return None


@providers
def test_the_declaration_agrees_with_itself(provider: AnyProvider) -> None:
    (tag,) = typing.get_args(provider.settings.model_fields["provider"].annotation)
    assert tag == provider.id, "the settings' provider literal is the provider's id"
    assert provider.default_verify in SIGNATURE_SCHEMES
    assert provider.success_status in (200, 202)
    if provider.callbacks is None:
        assert not provider.schemas.versions, "a poll-only provider has no callback versions"
    else:
        assert provider.schemas.versions, "a provider that takes callbacks has callback versions"


@providers
def test_a_provider_that_fetches_or_polls_has_a_client_and_resources(provider: AnyProvider) -> None:
    if provider.callbacks in ("thin", None):
        assert provider.client is not None, "thin callbacks are fetched and poll-only tasks polled"
    if provider.client is not None:
        assert provider.schemas.resource_versions, "what the client returns is validated like a callback"
    if provider.callbacks is None:
        assert provider.schemas.task_types, "a watched task's own events need a task type"


@providers
def test_every_task_api_can_be_watched(provider: AnyProvider) -> None:
    if provider.has_task_api:
        assert provider.schemas.task_types, (
            "a provider with a task API can be watched: declare its task_types (several: a route each, "
            "task_routes_client)"
        )


@providers
def test_every_schema_version_has_fixtures_with_expected_events(provider: AnyProvider) -> None:
    folder = FIXTURES / provider.id
    assert folder.is_dir(), f"fixtures/{provider.id}/ holds the provider's stored deliveries"
    fixtures = [load_fixture(path) for path in fixture_paths([folder])]
    assert all(fixture.provider == provider.id for fixture in fixtures)
    covered: dict[str, set[int]] = {"callback": set(), "resource": set()}
    for fixture in fixtures:
        if fixture.expected is None:
            continue
        versions = (
            provider.schemas.resource_versions if fixture.kind == "resource" else provider.schemas.versions
        )
        version = first_accepting(versions, fixture.body)
        if version is not None:
            covered[fixture.kind].add(version)
    for kind, versions in (
        ("callback", provider.schemas.versions),
        ("resource", provider.schemas.resource_versions),
    ):
        missing = {version.version for version in versions} - covered[kind]
        assert not missing, f"{kind} versions {sorted(missing)} have no fixture with an expected event"


@providers
def test_every_provider_has_a_page_linked_from_the_readme(provider: AnyProvider) -> None:
    page = ROOT / "docs" / "providers" / f"{provider.id}.md"
    assert page.is_file(), f"docs/providers/{provider.id}.md describes the provider"
    assert f"`{provider.id}`" in page.read_text(encoding="utf-8").splitlines()[0], (
        f"docs/providers/{provider.id}.md starts with a heading naming `{provider.id}`"
    )
    assert f"[`{provider.id}`](docs/providers/{provider.id}.md)" in README, (
        "the README's Providers table links the provider's page"
    )


@providers
def test_the_example_config_shows_the_provider(provider: AnyProvider) -> None:
    assert re.search(rf'^#? ?provider = "{re.escape(provider.id)}"', EXAMPLE_CONFIG, flags=re.MULTILINE), (
        f"videohooks.example.toml shows a {provider.id} source (commented where it needs keys)"
    )


@providers
def test_another_providers_key_is_refused_by_name(provider: AnyProvider) -> None:
    """Each variant carries only its own settings: a key only some other provider has is unknown here."""
    own = set(provider.settings.model_fields)
    foreign = {key for other in PROVIDERS.values() for key in other.settings.model_fields if key not in own}
    for key in sorted(foreign):
        source = {"id": "s", "provider": provider.id, "verify": "none", key: "x"}
        with pytest.raises(Exception, match=rf'sources\[0\] \(id "s"\)\.{key}: unknown key'):
            parse_config({"sources": [source]})


def test_fixture_folders_are_providers() -> None:
    folders = {path.name for path in FIXTURES.iterdir() if path.is_dir()}
    assert folders == set(PROVIDERS), "every fixtures folder is a registered provider's"
