"""The components as their own packages declare them: their commands and settings sections.

The core names no component. Each package (``bridge``, ``api``, ``stack`` …) builds one
:class:`Component` in its ``__init__.py`` and lists it in ``pyproject.toml`` under the
entry-point group ``blazar_events.components``; the command line and the settings reference
find them through the installed distribution's metadata. Loading a declaration imports only
that package's ``__init__.py``: a command's module is imported when the command runs, a
settings module when the settings are documented.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

GROUP = "blazar_events.components"


@dataclass(frozen=True)
class Command:
    """One ``blazar-events <name>`` subcommand: a ``module:function`` and its line of help."""

    target: str
    summary: str

    def load(self) -> Callable[[list[str]], int]:
        module_name, _, function_name = self.target.partition(":")
        function: Callable[[list[str]], int] = getattr(
            importlib.import_module(module_name), function_name
        )
        return function


@dataclass(frozen=True)
class Component:
    """What one package offers the command line and the settings reference."""

    commands: Mapping[str, Command] = field(default_factory=dict)
    # Modules that declare the package's settings sections (imported to document them).
    settings: tuple[str, ...] = ()


def _absent(point: EntryPoint, error: ModuleNotFoundError) -> bool:
    """The declaring package itself is not installed (the image carries no ``stack/``).

    A module missing inside an installed package is a broken install, not an absent one.
    """
    return error.name == point.module.partition(".")[0]


def installed() -> dict[str, Component]:
    """Every component that is installed, by entry-point name, in the metadata's order."""
    found: dict[str, Component] = {}
    for point in entry_points(group=GROUP):
        try:
            component = point.load()
        except ModuleNotFoundError as error:
            if _absent(point, error):
                continue
            raise
        if not isinstance(component, Component):
            raise TypeError(f"entry point {point.name} = {point.value}: not a Component")
        found[point.name] = component
    return found


def commands() -> dict[str, Command]:
    """Every installed component's commands, by command name."""
    found: dict[str, Command] = {}
    owners: dict[str, str] = {}
    for owner, component in installed().items():
        for name, command in component.commands.items():
            if name in found:
                raise ValueError(f"command {name!r} declared by both {owners[name]} and {owner}")
            found[name], owners[name] = command, owner
    return found


def settings_modules() -> list[str]:
    """The modules that declare the installed components' settings sections."""
    return [module for component in installed().values() for module in component.settings]
