"""``{"sql": "<CESQL expression>"}``: CloudEvents SQL, parsed once into a predicate.

The grammar and casts are CESQL 1.0's (see :mod:`blazar_events.filters.cesql`); what this module
refuses — mixed AND/OR/XOR without parentheses, a NOT or minus followed by an operator — is
what CESQL engines disagree on. It also refuses what would cost too much on every event
(:mod:`blazar_events.filters.cesql_budget`). Errors name the position in the expression.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from blazar_events.errors import InvalidFilter
from blazar_events.filters import cesql_nodes as nodes
from blazar_events.filters.base import Attributes, Compile, Predicate, show
from blazar_events.filters.cesql import (
    COMPARISONS,
    INT_MAX,
    INT_MIN,
    KEYWORDS,
    EvaluationError,
    Node,
    parse_int,
    to_bool,
    tokenize,
    unquote,
)
from blazar_events.filters.cesql_budget import (
    ATTRIBUTE,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_LITERAL,
    MAX_NODES,
    MAX_PATTERN,
    RESULT_WIDTH,
    SCALAR,
    Part,
    Width,
    over_budget,
)
from blazar_events.filters.cesql_functions import FUNCTIONS

DIALECT = "sql"
_LOGIC = {"AND", "OR", "XOR"}
_STOP = {")", ",", ""}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.nodes = 0

    # --- token helpers ------------------------------------------------------------------------

    def peek(self) -> tuple[str, str]:
        kind, text, _ = self.tokens[self.index]
        return kind, text.upper() if kind == "word" else text

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str) -> InvalidFilter:
        position = self.tokens[min(self.index, len(self.tokens) - 1)][2]
        return InvalidFilter(f"sql {show(self.text)}: {message} (at position {position})")

    def expect(self, text: str) -> None:
        if self.peek()[1] != text:
            raise self.error(f"expected {text!r}")
        self.take()

    # --- budget (every recursion of the parser goes through nest) ------------------------------

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels")

    def part(self, node: Node, width: Width = SCALAR) -> Part:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error(f"more than {MAX_NODES} nodes (operands, operators, calls)")
        return Part(node, width)

    # --- grammar ------------------------------------------------------------------------------

    def parse(self) -> Node:
        node = self.logic().node
        if self.peek()[0] != "end":
            raise self.error(f"unexpected {self.peek()[1]!r}")
        return node

    def logic(self) -> Part:
        self.nest()
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
        if not ops:
            return operands[0]
        return self.part(nodes.logic(ops[0], [operand.node for operand in operands]))

    def comparison(self) -> Part:
        left = self.additive()
        if self.peek()[1] not in COMPARISONS:
            return left
        op = self.take()[1]
        right = self.additive()
        if self.peek()[1] in COMPARISONS:
            raise self.error("chained comparison; add parentheses")
        return self.part(nodes.compare(op, left.node, right.node))

    def additive(self) -> Part:
        return self.chain(("+", "-"), self.multiplicative)

    def multiplicative(self) -> Part:
        return self.chain(("*", "/", "%"), self.postfix)

    def chain(self, operators: tuple[str, ...], operand: Callable[[], Part]) -> Part:
        first = operand()
        rest: list[tuple[str, Node]] = []
        while self.peek()[1] in operators:
            op = self.take()[1]
            rest.append((op, operand().node))
        return self.part(nodes.arithmetic(first.node, rest)) if rest else first

    def postfix(self) -> Part:
        operand = self.unary()
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
            pattern = unquote(text)
            if len(pattern) > MAX_PATTERN:
                self.index -= 1
                raise self.error(f"LIKE pattern longer than {MAX_PATTERN} characters")
            node = self.part(nodes.like(operand.node, pattern))
        elif self.peek()[1] == "IN":
            self.take()
            self.expect("(")
            members = [self.logic().node]
            while self.peek()[1] == ",":
                self.take()
                members.append(self.logic().node)
            self.expect(")")
            node = self.part(nodes.member_of(operand.node, members))
        elif negate:
            raise self.error("expected LIKE or IN after NOT")
        else:
            return operand
        return self.part(nodes.negation(node.node)) if negate else node

    def unary(self) -> Part:
        text = self.peek()[1]
        if text == "-" and self.tokens[self.index + 1][0] == "number":
            return self.negative_literal()
        if text in ("NOT", "-"):
            self.take()
            self.nest()  # NOT NOT NOT ... recurses here, once per operator
            operand = self.unary()
            self.depth -= 1
            if self.peek()[1] not in _STOP and self.peek()[0] != "end":
                raise self.error(
                    f"{text} before an operator is read differently by CESQL engines; "
                    f"write {text} (...) around what it applies to"
                )
            build = nodes.negation if text == "NOT" else nodes.minus
            return self.part(build(operand.node))
        return self.primary()

    def negative_literal(self) -> Part:
        """``-5`` is one literal in CESQL (its lexer reads the sign), not a negation."""
        self.take()
        text = self.take()[1]
        number = parse_int("-" + text)
        if number is None:
            self.index -= 1
            raise self.error(f"-{text[:20]} is not a 32-bit integer")
        return self.part(nodes.constant(number))

    def primary(self) -> Part:
        kind, text, _ = self.take()
        upper = text.upper()
        if kind == "string":
            value = unquote(text)
            if len(value) > MAX_LITERAL:
                self.index -= 1
                raise self.error(f"string literal longer than {MAX_LITERAL} characters")
            return self.part(nodes.constant(value), Width(len(value), 0))
        if kind == "number":
            number = parse_int(text)
            if number is None or not INT_MIN <= number <= INT_MAX:
                self.index -= 1
                raise self.error(f"{text[:20]} is not a 32-bit integer")
            return self.part(nodes.constant(number))
        if text == "(":
            inner = self.logic()
            self.expect(")")
            return inner
        if kind == "word" and upper in ("TRUE", "FALSE"):
            return self.part(nodes.constant(upper == "TRUE"))
        if kind == "word" and upper == "EXISTS":
            return self.part(nodes.exists(self.identifier()))
        if kind == "word" and self.peek()[1] == "(":
            return self.function(upper)
        if kind == "word" and upper not in KEYWORDS:
            self.index -= 1
            return self.part(nodes.attribute(self.identifier()), ATTRIBUTE)
        self.index -= 1
        raise self.error(f"unexpected {text[:20] or 'end of expression'!r}")

    def identifier(self) -> str:
        kind, text, _ = self.take()
        if kind != "word" or text.upper() in KEYWORDS or not text.isalnum():
            self.index -= 1
            raise self.error(f"{text[:20]!r} is not an attribute name")
        return text

    def function(self, name: str) -> Part:
        self.expect("(")
        args: list[Part] = []
        if self.peek()[1] != ")":
            args.append(self.logic())
            while self.peek()[1] == ",":
                self.take()
                args.append(self.logic())
        self.expect(")")
        if name not in FUNCTIONS:
            raise self.error(f"unknown function {name[:20]}")
        low, high, implementation = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            raise self.error(f"{name} does not take {len(args)} argument(s)")
        width = RESULT_WIDTH.get(name, lambda _w: SCALAR)([arg.width for arg in args])
        problem = over_budget(width)
        if problem:
            raise self.error(f"{name}(...) {problem}")
        return self.part(nodes.call(implementation, [arg.node for arg in args]), width)


def compile_expression(text: str) -> Node:
    """The evaluator of a CESQL expression; InvalidFilter if it does not parse or costs too
    much (see :mod:`blazar_events.filters.cesql_budget`)."""
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
        # Fail-fast (CESQL 4.1), as Knative's filter: an evaluation error means no match.
        try:
            return to_bool(node(attributes))
        except EvaluationError:
            return False

    return match
