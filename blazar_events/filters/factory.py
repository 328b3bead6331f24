"""Build a predicate from a filter expression (CloudEvents Subscriptions API dialects).

An expression is a JSON object with exactly one key, the dialect. Anything else — an unknown
dialect, a malformed value — raises :class:`InvalidFilter` naming the expression, so a typo is a
400 at subscription time rather than a subscription that silently matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from blazar_events.errors import FilterError, InvalidFilter
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
# Filter objects in one expression (each one costs a little on every event).
MAX_OBJECTS = 256


def from_expression(expression: Any) -> Predicate:
    """The predicate of one filter expression.

    The predicate returns a bool or raises :class:`FilterError`, whatever the attributes: a
    filter is tenant code run by the broker, and the caller records that error on the
    subscription instead of losing the other subscriptions' work to it.
    """
    count = [0]

    def compile_one(expression: Any, depth: int) -> Predicate:
        count[0] += 1
        if depth > MAX_DEPTH:
            raise InvalidFilter(f"filter nested deeper than {MAX_DEPTH} levels")
        if count[0] > MAX_OBJECTS:
            raise InvalidFilter(f"filter has more than {MAX_OBJECTS} filter objects")
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
        return build(value, lambda nested: compile_one(nested, depth + 1))

    return total(compile_one(expression, 0))


def total(predicate: Predicate) -> Predicate:
    """``predicate``, raising nothing but :class:`FilterError`."""

    def match(attributes: Attributes) -> bool:
        try:
            return predicate(attributes) is True
        except FilterError:
            raise
        except Exception as exc:  # RecursionError, MemoryError, a bug: all the same to callers
            raise FilterError(f"the filter could not be evaluated: {show(repr(exc))}") from exc

    return match


def from_list(expressions: Iterable[Any]) -> Predicate:
    """The predicate of a subscription's ``filters``: every expression must match.

    Like :func:`from_expression`'s, it returns a bool or raises :class:`FilterError`.
    """
    parts = [from_expression(expression) for expression in expressions]

    def match(attributes: Attributes) -> bool:
        return all(part(attributes) for part in parts)

    return match
