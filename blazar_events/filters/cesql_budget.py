"""The cost budget of a ``sql`` filter, checked when it is compiled (at create and update).

A filter is tenant code the broker runs on every event. Whatever a tenant writes is either
refused here with a message naming the limit, or costs a bounded amount per event: the
parser counts nesting and nodes, and follows how long each string-valued node can get —
``chars`` characters of the filter's own literals plus ``copies`` event attribute values,
whose length the filter does not control. At run time a function result longer than
:data:`MAX_RUNTIME_RESULT` is an evaluation error (long attributes), never a huge string.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

Value = int | bool | str
Node = Callable[[Mapping[str, str]], Value]

MAX_LENGTH = 4096
"""Characters of one ``sql`` expression."""
MAX_DEPTH = 32
"""Nesting: parentheses, function calls, IN lists, and each NOT or unary minus."""
MAX_NODES = 512
"""Operands, operators and function calls of one expression."""
MAX_LITERAL = 1024
"""Characters of one string literal."""
MAX_PATTERN = 256
"""Characters of one LIKE pattern."""
MAX_RESULT = 8192
"""Characters of literals one string function's result may hold (CONCAT_WS repeats its
separator, UPPER may triple a character)."""
MAX_COPIES = 16
"""Event attribute values one string function's result may hold."""
MAX_RUNTIME_RESULT = 65536
"""Characters a function may produce from a real event; past it the filter does not match."""


class Width(NamedTuple):
    """An upper bound of a value's length as a string."""

    chars: int
    copies: int

    def plus(self, other: Width) -> Width:
        return Width(self.chars + other.chars, self.copies + other.copies)

    def times(self, factor: int) -> Width:
        return Width(self.chars * factor, self.copies * factor)


SCALAR = Width(11, 0)  # an integer or Boolean as a string: at most "-2147483648"
ATTRIBUTE = Width(0, 1)


class Part(NamedTuple):
    """A compiled node and the bound of its value's length."""

    node: Node
    width: Width


def total(widths: list[Width]) -> Width:
    result = Width(0, 0)
    for width in widths:
        result = result.plus(width)
    return result


def concat_ws(widths: list[Width]) -> Width:
    separator, items = widths[0], widths[1:]
    return total(items).plus(separator.times(max(len(items) - 1, 0)))


# How long each built-in function's result can be, from its arguments' bounds.
RESULT_WIDTH: dict[str, Callable[[list[Width]], Width]] = {
    "CONCAT": total,
    "CONCAT_WS": concat_ws,
    # Unicode case mappings turn one character into at most three ("ΐ".upper()).
    "LOWER": lambda w: w[0].times(3),
    "UPPER": lambda w: w[0].times(3),
    "TRIM": lambda w: w[0],
    "LEFT": lambda w: w[0],
    "RIGHT": lambda w: w[0],
    "SUBSTRING": lambda w: w[0],
    "STRING": lambda w: w[0],
}


def over_budget(width: Width) -> str | None:
    """Why a function result of this bound is refused, or None."""
    if width.chars > MAX_RESULT:
        return f"may produce more than {MAX_RESULT} characters"
    if width.copies > MAX_COPIES:
        return f"may repeat event attribute values more than {MAX_COPIES} times"
    return None
