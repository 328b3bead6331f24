"""``{"any": [f1, f2, ...]}``: at least one nested filter matches."""

from __future__ import annotations

from typing import Any

from blazar_events.filters.base import Attributes, Compile, Predicate, nested_list

DIALECT = "any"


def build(value: Any, compile_nested: Compile) -> Predicate:
    parts = nested_list(DIALECT, value, compile_nested)

    def match(attributes: Attributes) -> bool:
        return any(part(attributes) for part in parts)

    return match
