"""``{"sql": "<CESQL expression>"}``: CloudEvents SQL, parsed once into a predicate.

The grammar and casts are CESQL 1.0's (see :mod:`blazar_events.filters.cesql`); what this module
refuses — mixed AND/OR/XOR without parentheses, a NOT or minus followed by an operator — is
what CESQL engines disagree on. Errors name the position in the expression.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from blazar_events.errors import InvalidFilter
from blazar_events.filters.base import Attributes, Compile, Predicate, show
from blazar_events.filters.cesql import (
    COMPARISONS,
    INT_MAX,
    INT_MIN,
    KEYWORDS,
    MAX_DEPTH,
    MAX_LENGTH,
    EvaluationError,
    Node,
    Value,
    cast_like,
    checked,
    divide,
    like_pattern,
    to_bool,
    to_int,
    tokenize,
    unquote,
)
from blazar_events.filters.cesql_functions import FUNCTIONS

DIALECT = "sql"
_LOGIC = {"AND", "OR", "XOR"}
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_STOP = {")", ",", ""}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    # --- token helpers ------------------------------------------------------------------------

    def peek(self) -> tuple[str, str]:
        kind, text, _ = self.tokens[self.index]
        return kind, text.upper() if kind == "word" else text

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str) -> InvalidFilter:
        position = self.tokens[self.index][2]
        return InvalidFilter(f"sql {self.text!r}: {message} (at position {position})")

    def expect(self, text: str) -> None:
        if self.peek()[1] != text:
            raise self.error(f"expected {text!r}")
        self.take()

    # --- grammar ------------------------------------------------------------------------------

    def parse(self) -> Node:
        node = self.logic()
        if self.peek()[0] != "end":
            raise self.error(f"unexpected {self.peek()[1]!r}")
        return node

    def logic(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels")
        operands, ops = [self.comparison()], []
        while self.peek()[1] in _LOGIC:
            ops.append(self.take()[1].upper())
            operands.append(self.comparison())
        self.depth -= 1
        if len(set(ops)) > 1:
            raise self.error(
                "CESQL gives AND, OR and XOR the same precedence; add parentheses, "
                "e.g. (a AND b) OR c"
            )
        node = operands[-1]
        for left, op in zip(reversed(operands[:-1]), reversed(ops), strict=True):
            node = _logic(op, left, node)
        return node

    def comparison(self) -> Node:
        left = self.additive()
        if self.peek()[1] not in COMPARISONS:
            return left
        op = self.take()[1]
        right = self.additive()
        if self.peek()[1] in COMPARISONS:
            raise self.error("chained comparison; add parentheses")
        return _compare(op, left, right)

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            node = _arithmetic(op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.postfix()
        while self.peek()[1] in ("*", "/", "%"):
            op = self.take()[1]
            node = _arithmetic(op, node, self.postfix())
        return node

    def postfix(self) -> Node:
        node = self.unary()
        negate = False
        if self.peek()[1] == "NOT":
            self.take()
            negate = True
            if self.peek()[1] not in ("LIKE", "IN"):
                raise self.error("expected LIKE or IN after NOT")
        if self.peek()[1] == "LIKE":
            self.take()
            kind, text, _ = self.take()
            if kind != "string":
                self.index -= 1
                raise self.error("LIKE takes a string literal pattern")
            node = _like(node, unquote(text))
        elif self.peek()[1] == "IN":
            self.take()
            self.expect("(")
            members = [self.logic()]
            while self.peek()[1] == ",":
                self.take()
                members.append(self.logic())
            self.expect(")")
            node = _in(node, members)
        elif negate:
            raise self.error("expected LIKE or IN after NOT")
        return _not(node) if negate else node

    def unary(self) -> Node:
        text = self.peek()[1]
        if text == "-" and self.tokens[self.index + 1][0] == "number":
            return self.negative_literal()
        if text in ("NOT", "-"):
            self.take()
            operand = self.unary()
            if self.peek()[1] not in _STOP and self.peek()[0] != "end":
                raise self.error(
                    f"{text} before an operator is read differently by CESQL engines; "
                    f"write {text} (...) around what it applies to"
                )
            return _not(operand) if text == "NOT" else _negate(operand)
        return self.primary()

    def negative_literal(self) -> Node:
        """``-5`` is one literal in CESQL (its lexer reads the sign), not a negation."""
        self.take()
        text = self.take()[1]
        number = -int(text)
        if number < INT_MIN:
            self.index -= 1
            raise self.error(f"-{text} is not a 32-bit integer")
        return lambda _a: number

    def primary(self) -> Node:
        kind, text, _ = self.take()
        upper = text.upper()
        if kind == "string":
            value: Value = unquote(text)
            return lambda _a: value
        if kind == "number":
            number = int(text)
            if number > INT_MAX:
                self.index -= 1
                raise self.error(f"{text} is not a 32-bit integer")
            return lambda _a: number
        if text == "(":
            node = self.logic()
            self.expect(")")
            return node
        if kind == "word" and upper in ("TRUE", "FALSE"):
            flag = upper == "TRUE"
            return lambda _a: flag
        if kind == "word" and upper == "EXISTS":
            name = self.identifier()
            return lambda attributes: name in attributes
        if kind == "word" and self.peek()[1] == "(":
            return self.function(upper)
        if kind == "word" and upper not in KEYWORDS:
            self.index -= 1
            return _attribute(self.identifier())
        self.index -= 1
        raise self.error(f"unexpected {text or 'end of expression'!r}")

    def identifier(self) -> str:
        kind, text, _ = self.take()
        if kind != "word" or text.upper() in KEYWORDS or not text.isalnum():
            self.index -= 1
            raise self.error(f"{text!r} is not an attribute name")
        return text

    def function(self, name: str) -> Node:
        self.expect("(")
        args: list[Node] = []
        if self.peek()[1] != ")":
            args.append(self.logic())
            while self.peek()[1] == ",":
                self.take()
                args.append(self.logic())
        self.expect(")")
        if name not in FUNCTIONS:
            raise self.error(f"unknown function {name}")
        low, high, implementation = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            raise self.error(f"{name} does not take {len(args)} argument(s)")
        return lambda attributes: implementation(*(arg(attributes) for arg in args))


# --- node builders ------------------------------------------------------------------------------


def _attribute(name: str) -> Node:
    def value(attributes: Mapping[str, str]) -> Value:
        if name not in attributes:
            raise EvaluationError(f"missing attribute {name}")
        return attributes[name]

    return value


def _logic(op: str, left: Node, right: Node) -> Node:
    if op == "AND":
        return lambda a: to_bool(left(a)) and to_bool(right(a))
    if op == "OR":
        return lambda a: to_bool(left(a)) or to_bool(right(a))
    return lambda a: to_bool(left(a)) != to_bool(right(a))


def _compare(op: str, left: Node, right: Node) -> Node:
    if op in _ORDER:
        check = _ORDER[op]
        return lambda a: check(to_int(left(a)), to_int(right(a)))

    def equal(a: Mapping[str, str]) -> bool:
        y = right(a)
        return cast_like(left(a), y) == y

    return equal if op == "=" else lambda a: not equal(a)


def _arithmetic(op: str, left: Node, right: Node) -> Node:
    if op == "+":
        return lambda a: checked(to_int(left(a)) + to_int(right(a)))
    if op == "-":
        return lambda a: checked(to_int(left(a)) - to_int(right(a)))
    if op == "*":
        return lambda a: checked(to_int(left(a)) * to_int(right(a)))
    remainder = op == "%"
    return lambda a: divide(to_int(left(a)), to_int(right(a)), remainder)


def _not(node: Node) -> Node:
    return lambda a: not to_bool(node(a))


def _negate(node: Node) -> Node:
    return lambda a: checked(-to_int(node(a)))


def _like(node: Node, pattern: str) -> Node:
    compiled = like_pattern(pattern)
    return lambda a: compiled.matches(str(cast_like(node(a), "")))


def _in(node: Node, members: list[Node]) -> Node:
    def contains(a: Mapping[str, str]) -> bool:
        x = node(a)
        return any(cast_like(member(a), x) == x for member in members)

    return contains


def compile_expression(text: str) -> Node:
    """The evaluator of a CESQL expression; InvalidFilter if it does not parse."""
    if len(text) > MAX_LENGTH:
        raise InvalidFilter(f"sql: expression longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise InvalidFilter("sql: empty expression")
    return _Parser(text).parse()


def build(value: Any, compile_nested: Compile) -> Predicate:
    if not isinstance(value, str):
        raise InvalidFilter(f"filter {show({DIALECT: value})}: 'sql' takes a string expression")
    node = compile_expression(value)

    def match(attributes: Attributes) -> bool:
        try:
            return to_bool(node(attributes))
        except EvaluationError:
            return False

    return match
