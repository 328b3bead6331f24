"""Build a predicate from a filter expression (CloudEvents Subscriptions API dialects).

An expression is a JSON object with exactly one key, the dialect. Anything else — an unknown
dialect, a malformed value — raises :class:`InvalidFilter` naming the expression, so a typo is a
400 at subscription time rather than a subscription that silently matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from blazar_events.errors import InvalidFilter
from blazar_events.filters import all_of, any_of, exact, not_, prefix, sql, suffix
from blazar_events.filters.base import Attributes, Compile, Predicate, show

DIALECTS: dict[str, Callable[[Any, Compile], Predicate]] = {
    exact.DIALECT: exact.build,
    prefix.DIALECT: prefix.build,
    suffix.DIALECT: suffix.build,
    all_of.DIALECT: all_of.build,
    any_of.DIALECT: any_of.build,
    not_.DIALECT: not_.build,
    sql.DIALECT: sql.build,
}

# Deep nesting is never needed and would let one request exhaust the stack.
MAX_DEPTH = 16


def from_expression(expression: Any, _depth: int = 0) -> Predicate:
    """The predicate of one filter expression."""
    if _depth > MAX_DEPTH:
        raise InvalidFilter(f"filter nested deeper than {MAX_DEPTH} levels")
    if not isinstance(expression, dict) or len(expression) != 1:
        raise InvalidFilter(
            f"filter {show(expression)}: expected an object with exactly one dialect key "
            f"({', '.join(DIALECTS)})"
        )
    ((dialect, value),) = expression.items()
    build = DIALECTS.get(dialect)
    if build is None:
        raise InvalidFilter(
            f"filter {show(expression)}: unsupported dialect {dialect!r} "
            f"(supported: {', '.join(DIALECTS)})"
        )
    return build(value, lambda nested: from_expression(nested, _depth + 1))


def from_list(expressions: Iterable[Any]) -> Predicate:
    """The predicate of a subscription's ``filters``: every expression must match."""
    parts = [from_expression(expression) for expression in expressions]

    def match(attributes: Attributes) -> bool:
        return all(part(attributes) for part in parts)

    return match
