"""The evaluators an expression compiles to (pure): fail-fast on a missing attribute or a bad
cast, short-circuit logic, and chains as long as allowed evaluated without deep recursion."""

from __future__ import annotations

import sys

import pytest

from blazar_events.filters.cesql import EvaluationError
from blazar_events.filters.cesql_nodes import (
    arithmetic,
    attribute,
    call,
    compare,
    constant,
    exists,
    like,
    logic,
    member_of,
    minus,
    negation,
)

EVENT = {"type": "org.openstack.blazar.lease.create", "leaseid": "l-1", "n": "7"}


def boom(_attributes: object) -> bool:
    raise AssertionError("short-circuit: never evaluated")


def test_attributes_exist_or_fail_the_whole_filter() -> None:
    assert attribute("leaseid")(EVENT) == "l-1"
    assert (exists("leaseid")(EVENT), exists("missing")(EVENT)) == (True, False)
    with pytest.raises(EvaluationError, match="missing attribute"):
        attribute("missing")(EVENT)


def test_and_or_short_circuit_and_xor_counts() -> None:
    assert logic("AND", [constant(False), boom])(EVENT) is False
    assert logic("OR", [constant(True), boom])(EVENT) is True
    assert logic("XOR", [constant(True), constant(True), constant(True)])(EVENT) is True
    with pytest.raises(EvaluationError):
        logic("AND", [constant(True), constant("maybe")])(EVENT)


def test_comparisons_cast_the_left_side_to_the_right_ones_type() -> None:
    assert compare("=", attribute("n"), constant(7))(EVENT) is True
    assert compare("<", attribute("n"), constant(10))(EVENT) is True
    assert compare("!=", attribute("type"), constant("x"))(EVENT) is True
    with pytest.raises(EvaluationError):
        compare("=", attribute("type"), constant(7))(EVENT)


def test_arithmetic_membership_like_and_calls() -> None:
    # One precedence level, left-associative (the parser nests the higher levels).
    assert arithmetic(constant(7), [("-", constant(2)), ("-", attribute("n"))])(EVENT) == -2
    assert arithmetic(constant(-7), [("/", constant(2)), ("%", constant(2))])(EVENT) == -1
    assert minus(constant(4))(EVENT) == -4 and negation(constant(False))(EVENT) is True
    assert member_of(attribute("n"), [constant(1), constant(7)])(EVENT) is True
    assert like(attribute("type"), "%.lease.%")(EVENT) is True
    assert like(attribute("type"), "lease.%")(EVENT) is False
    assert call(lambda x: len(str(x)), [attribute("leaseid")])(EVENT) == 3


def test_a_long_chain_evaluates_in_little_stack() -> None:
    long_chain = logic("AND", [constant(True)] * (sys.getrecursionlimit() * 2))
    assert long_chain(EVENT) is True
    total = arithmetic(constant(0), [("+", constant(1))] * (sys.getrecursionlimit() * 2))
    assert total(EVENT) == sys.getrecursionlimit() * 2
