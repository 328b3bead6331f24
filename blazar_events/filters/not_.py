"""``{"not": f}``: the nested filter does not match."""

from __future__ import annotations

from typing import Any

from blazar_events.errors import InvalidFilter
from blazar_events.filters.base import Attributes, Compile, Predicate, show

DIALECT = "not"


def build(value: Any, compile_nested: Compile) -> Predicate:
    if not isinstance(value, dict):
        raise InvalidFilter(f"filter {show({DIALECT: value})}: 'not' takes one filter object")
    inner = compile_nested(value)

    def match(attributes: Attributes) -> bool:
        return not inner(attributes)

    return match
