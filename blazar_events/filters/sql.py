"""``{"sql": "<CESQL expression>"}``: placeholder until the CESQL subset lands."""

from __future__ import annotations

from typing import Any

from blazar_events.errors import InvalidFilter
from blazar_events.filters.base import Compile, Predicate, show

DIALECT = "sql"


def build(value: Any, compile_nested: Compile) -> Predicate:
    raise InvalidFilter(f"filter {show({DIALECT: value})}: the 'sql' dialect is not supported")
