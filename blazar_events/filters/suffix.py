"""``{"suffix": {"attr": "end"}}``: the attribute exists and ends with the value."""

from __future__ import annotations

from typing import Any

from blazar_events.filters.base import Attributes, Compile, Predicate, single_attribute

DIALECT = "suffix"


def build(value: Any, compile_nested: Compile) -> Predicate:
    name, end = single_attribute(DIALECT, value)

    def match(attributes: Attributes) -> bool:
        actual = attributes.get(name)
        return actual is not None and actual.endswith(end)

    return match
