"""The components as they declare themselves: the core finds them, never names them."""

from __future__ import annotations

import ast
import re
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from blazar_events import components
from blazar_events.components import GROUP, Command, Component
from blazar_events.reference import all_sections
from blazar_events.settings import Section

CORE = Path(components.__file__).parent
PACKAGES = ("bridge", "api", "delivery", "functions", "broker", "k8s", "reminders", "stack")


def test_every_declared_command_runs_a_function_of_its_own_package() -> None:
    found = components.installed()
    assert set(found) == set(PACKAGES)
    for package, component in found.items():
        for name, command in component.commands.items():
            assert command.target.startswith(f"{package}."), name
            assert callable(command.load()), name


def test_every_component_section_comes_from_a_declared_settings_module() -> None:
    declared = set(components.settings_modules())
    for name, cls in all_sections().items():
        assert cls.__module__ == "blazar_events.settings" or cls.__module__ in declared, name
    assert all(issubclass(cls, Section) for cls in all_sections().values())


def test_the_core_names_no_component_module() -> None:
    """A command or a settings module named by string in the core, which lint-imports cannot see."""
    named = re.compile(rf"({'|'.join(PACKAGES)})[.:][\w.:]+")
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not named.fullmatch(node.value), f"{path.name}: {node.value}"


def _declared(monkeypatch: pytest.MonkeyPatch, *points: EntryPoint) -> None:
    monkeypatch.setattr(components, "entry_points", lambda group: list(points))


def test_a_component_whose_package_is_not_installed_is_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The image carries no stack/, though the distribution's metadata still names it."""
    _declared(
        monkeypatch,
        EntryPoint("bridge", "bridge:COMPONENT", GROUP),
        EntryPoint("gone", "blazar_events_no_such_package:COMPONENT", GROUP),
    )
    assert list(components.installed()) == ["bridge"]


def test_a_broken_import_inside_an_installed_package_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _declared(monkeypatch, EntryPoint("broken", "blazar_events.no_such_module:X", GROUP))
    with pytest.raises(ModuleNotFoundError):
        components.installed()


def test_two_components_may_not_declare_the_same_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    twice = Component(commands={"bridge": Command("bridge.service:main", "again")})
    monkeypatch.setattr(components, "installed", lambda: {"bridge": twice, "other": twice})
    with pytest.raises(ValueError, match="'bridge' declared by both bridge and other"):
        components.commands()
