"""Options that were renamed or moved: their old names still read, with a warning.

Two kinds, both declared on the section that now owns the option
(:class:`blazar_events.settings.Section`):

* ``renamed`` — an option renamed within its section (``[bridge] http_port`` is now
  ``[bridge] port``). The rule: the new name wins wherever it is set (environment or file);
  the old name is read only when the new one is not set.
* ``formerly`` — an option that several components each had and that now has one home
  (``[api]``, ``[delivery]`` and ``[operator] allowed_networks`` are now
  ``[egress] allowed_networks``). The rule: the new option, when set, holds for every
  component and the old ones are ignored; otherwise each component keeps reading its own old
  option, exactly as before the move; old options that disagree with each other are named
  in a warning (they used to be three policies; set the new one to make it one).

Every use of an old name is logged once per process as a warning naming the new option and
its environment variable, so an operator sees what to change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("blazar_events.settings")

_said: set[str] = set()


def warn(message: str) -> None:
    """Log ``message`` once per process (settings are loaded many times)."""
    if message not in _said:
        _said.add(message)
        log.warning("%s", message)


def is_set(value: Any) -> bool:
    """Whether an option holds a value (an empty string or list, as a chart writes for an
    empty value, counts as not set)."""
    return value is not None and value != "" and value != []


def apply_renames(
    section: str,
    renamed: Mapping[str, str],
    values: dict[str, Any],
    env_name: Callable[[str, str], str],
) -> dict[str, Any]:
    """Move each set old option of ``values`` (what the sources read) to its new name."""
    for old, new in renamed.items():
        if not is_set(values.get(old)):
            continue
        old_name = f"[{section}] {old} ({env_name(section, old)})"
        new_name = f"[{section}] {new} ({env_name(section, new)})"
        if new in values:
            warn(f"{old_name} is deprecated and ignored: {new_name} is set")
        else:
            values[new] = values[old]
            warn(f"{old_name} is deprecated: set {new_name} instead")
    return values


def moved_value(
    new_name: str,
    new_is_set: bool,
    own: str | None,
    old_values: Mapping[str, Any],
) -> Any:
    """The value a component gets for a moved option, or None to keep the new one.

    ``old_values`` maps each old option that is set (``"[api] allowed_networks (env)"``) to
    its parsed value; ``own`` is the key of the loading component's own old option, if set.
    """
    if not old_values:
        return None
    if new_is_set:
        for old in old_values:
            warn(f"{old} is deprecated and ignored: {new_name} is set")
        return None
    distinct = {repr(value) for value in old_values.values()}
    if len(distinct) > 1:
        listed = "; ".join(f"{old} = {value!r}" for old, value in old_values.items())
        warn(
            f"deprecated options disagree: {listed}. Each component keeps using its own "
            f"until {new_name} is set, which then holds for all of them"
        )
    if own is None:
        return None
    warn(f"{own} is deprecated: set {new_name} instead (one setting for every component)")
    return old_values[own]
