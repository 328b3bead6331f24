"""``{"exact": {"attr": "value"}}``: the attribute exists and equals the value."""

from __future__ import annotations

from typing import Any

from blazar_events.filters.base import Attributes, Compile, Predicate, single_attribute

DIALECT = "exact"


def build(value: Any, compile_nested: Compile) -> Predicate:
    name, expected = single_attribute(DIALECT, value)

    def match(attributes: Attributes) -> bool:
        return attributes.get(name) == expected

    return match
