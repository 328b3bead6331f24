"""What every filter dialect shares: the predicate type and attribute-name checks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from blazar_events.errors import InvalidFilter

Attributes = Mapping[str, str]
"""CloudEvent context attributes and extensions of one event, every value as a string."""

Predicate = Callable[[Attributes], bool]

Compile = Callable[[Any], Predicate]
"""Turns a nested filter expression into a predicate (the factory, passed in by it)."""

# CloudEvents attribute names: lower-case letters and digits (spec v1.0, "Attribute Naming").
_ATTRIBUTE = re.compile(r"^[a-z0-9]{1,64}\Z")
# The longest value exact/prefix/suffix compares with: no attribute Blazar sends comes near.
MAX_VALUE = 1024


def show(expression: Any) -> str:
    """The expression as the user wrote it, short enough for an error message."""
    try:
        text = json.dumps(expression, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(expression)
    return text if len(text) <= 200 else text[:197] + "..."


def single_attribute(dialect: str, value: Any) -> tuple[str, str]:
    """The one ``{attribute: string}`` pair of an exact/prefix/suffix expression."""
    if not isinstance(value, dict) or len(value) != 1:
        raise InvalidFilter(
            f"filter {show({dialect: value})}: '{dialect}' takes exactly one attribute: value pair"
        )
    ((name, text),) = value.items()
    if not isinstance(name, str) or not _ATTRIBUTE.match(name):
        raise InvalidFilter(
            f"filter {show({dialect: value})}: {name!r} is not a CloudEvent attribute name "
            "(lower-case letters and digits)"
        )
    if not isinstance(text, str):
        raise InvalidFilter(
            f"filter {show({dialect: value})}: the value of {name!r} must be a string"
        )
    if len(text) > MAX_VALUE:
        raise InvalidFilter(
            f"filter {show({dialect: value})}: the value of {name!r} is longer than "
            f"{MAX_VALUE} characters"
        )
    return name, text


def nested_list(dialect: str, value: Any, compile_nested: Compile) -> list[Predicate]:
    """The non-empty list of sub-expressions of an all/any expression."""
    if not isinstance(value, list) or not value:
        raise InvalidFilter(
            f"filter {show({dialect: value})}: '{dialect}' takes a non-empty list of filters"
        )
    return [compile_nested(item) for item in value]
