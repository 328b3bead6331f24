"""CESQL's lexer and casts (pure): what a literal means, which strings are integers or
Booleans, and integer arithmetic that stays in 32 bits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blazar_events.errors import InvalidFilter
from blazar_events.filters.cesql import (
    INT_MAX,
    INT_MIN,
    EvaluationError,
    cast_like,
    checked,
    divide,
    parse_int,
    to_bool,
    to_int,
    to_str,
    tokenize,
    unquote,
)


def test_tokens_carry_their_kind_and_position() -> None:
    assert tokenize("type = 'a''b' AND 42<>x") == [
        ("word", "type", 0), ("op", "=", 5), ("string", "'a''b'", 7), ("word", "AND", 14),
        ("number", "42", 18), ("op", "<>", 20), ("word", "x", 22), ("end", "", 23),
    ]  # fmt: skip


@pytest.mark.parametrize("text", ["type = 'open", "a ; b", "a = `b`", "é = 1"])
def test_what_cannot_be_read_is_refused_with_its_position(text: str) -> None:
    with pytest.raises(InvalidFilter, match="unexpected character at"):
        tokenize(text)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'it''s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        (r"'a\'b'", "a'b"),
        (r"'a\\b'", "a\\b"),
        (r"'50\%'", r"50\%"),
        (r"'x\_y'", r"x\_y"),
    ],
)
def test_string_literals_unescape_only_quotes_and_backslashes(literal: str, value: str) -> None:
    assert unquote(literal) == value


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0", 0),
        ("-0", 0),
        ("+17", 17),
        ("000000000000042", 42),
        ("2147483647", INT_MAX),
        ("-2147483648", INT_MIN),
        ("2147483648", None),
        ("1e3", None),
        ("", None),
        ("-", None),
        ("٣", None),
        ("9" * 5000, None),
    ],
)
def test_only_ascii_digits_within_32_bits_are_integers(text: str, number: int | None) -> None:
    assert parse_int(text) == number


@given(st.integers(INT_MIN, INT_MAX))
def test_every_32_bit_integer_round_trips_through_text(number: int) -> None:
    assert parse_int(str(number)) == number
    assert to_int(to_str(number)) == number


def test_implicit_casts_refuse_what_only_explicit_ones_allow() -> None:
    assert (to_int(" 12 "), to_bool("TRUE"), to_bool("false")) == (12, True, False)
    with pytest.raises(EvaluationError):
        to_int(True)
    with pytest.raises(EvaluationError):
        to_bool(1)
    assert (to_int(True, explicit=True), to_bool(0, explicit=True)) == (1, False)
    with pytest.raises(EvaluationError, match="to a Boolean"):
        to_bool("yes")
    assert (to_str(True), to_str(-3)) == ("true", "-3")
    assert (cast_like("7", 1), cast_like("true", False), cast_like(7, "x")) == (7, True, "7")


def test_division_truncates_and_overflow_or_zero_is_an_evaluation_error() -> None:
    assert (divide(-7, 2, False), divide(-7, 2, True), divide(7, -2, True)) == (-3, -1, 1)
    with pytest.raises(EvaluationError, match="division by zero"):
        divide(1, 0, True)
    with pytest.raises(EvaluationError, match="overflow"):
        divide(INT_MIN, -1, False)
    with pytest.raises(EvaluationError, match="overflow"):
        checked(INT_MAX + 1)
