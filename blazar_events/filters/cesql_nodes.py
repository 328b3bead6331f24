"""The evaluators a CESQL expression compiles to: one closure per operator.

Chains (``a AND b AND c``, ``1 + 2 - 3``) become one closure looping over their operands,
so that evaluating costs no deeper a stack than the parser's nesting limit allows, however
long the chain.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping

from blazar_events.filters.cesql import (
    EvaluationError,
    Node,
    Value,
    cast_like,
    checked,
    divide,
    to_bool,
    to_int,
)
from blazar_events.filters.like import like_pattern

Attributes = Mapping[str, str]
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def constant(value: Value) -> Node:
    return lambda _a: value


def attribute(name: str) -> Node:
    def value(attributes: Attributes) -> Value:
        if name not in attributes:
            raise EvaluationError(f"missing attribute {name}")
        return attributes[name]

    return value


def exists(name: str) -> Node:
    return lambda attributes: name in attributes


def logic(op: str, operands: list[Node]) -> Node:
    """``op`` (AND, OR or XOR) over operands, left to right; AND and OR short-circuit."""
    if op == "AND":
        return lambda a: all(to_bool(node(a)) for node in operands)
    if op == "OR":
        return lambda a: any(to_bool(node(a)) for node in operands)

    def xor(a: Attributes) -> bool:
        result = False
        for node in operands:
            result = result != to_bool(node(a))
        return result

    return xor


def compare(op: str, left: Node, right: Node) -> Node:
    if op in _ORDER:
        check = _ORDER[op]
        return lambda a: check(to_int(left(a)), to_int(right(a)))

    def equal(a: Attributes) -> bool:
        y = right(a)
        return cast_like(left(a), y) == y

    return equal if op == "=" else lambda a: not equal(a)


_STEP: dict[str, Callable[[int, int], int]] = {
    "+": lambda x, y: checked(x + y),
    "-": lambda x, y: checked(x - y),
    "*": lambda x, y: checked(x * y),
    "/": lambda x, y: divide(x, y, remainder=False),
    "%": lambda x, y: divide(x, y, remainder=True),
}


def arithmetic(first: Node, rest: list[tuple[str, Node]]) -> Node:
    """``first op1 x1 op2 x2 ...`` for operators of one precedence, left-associative."""
    steps = [(_STEP[op], node) for op, node in rest]

    def value(a: Attributes) -> int:
        result = to_int(first(a))
        for step, node in steps:
            result = step(result, to_int(node(a)))
        return result

    return value


def negation(node: Node) -> Node:
    return lambda a: not to_bool(node(a))


def minus(node: Node) -> Node:
    return lambda a: checked(-to_int(node(a)))


def like(node: Node, pattern: str) -> Node:
    compiled = like_pattern(pattern)
    return lambda a: compiled.matches(str(cast_like(node(a), "")))


def member_of(node: Node, members: list[Node]) -> Node:
    def contains(a: Attributes) -> bool:
        x = node(a)
        return any(cast_like(member(a), x) == x for member in members)

    return contains


def call(implementation: Callable[..., Value], args: list[Node]) -> Node:
    return lambda a: implementation(*[arg(a) for arg in args])
