"""CESQL's built-in functions (pure): the spec's results, and errors instead of huge strings
or overflows, whatever the event's attributes hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blazar_events.filters.cesql import INT_MIN, EvaluationError
from blazar_events.filters.cesql_budget import MAX_RUNTIME_RESULT
from blazar_events.filters.cesql_functions import FUNCTIONS


def call(name: str, *args: object) -> object:
    low, high, implementation = FUNCTIONS[name]
    assert low <= len(args) and (high is None or len(args) <= high)
    return implementation(*args)


@pytest.mark.parametrize(
    ("name", "args", "result"),
    [
        ("LENGTH", ("lease",), 5),
        ("CONCAT", ("a", 1, True), "a1true"),
        ("CONCAT", (), ""),
        ("CONCAT_WS", ("-", "a", "b", "c"), "a-b-c"),
        ("LOWER", ("AbC",), "abc"),
        ("UPPER", ("AbC",), "ABC"),
        ("TRIM", ("  x  ",), "x"),
        ("LEFT", ("lease", 2), "le"),
        ("RIGHT", ("lease", 2), "se"),
        ("LEFT", ("lease", 99), "lease"),
        ("SUBSTRING", ("lease", 2), "ease"),
        ("SUBSTRING", ("lease", -2), "se"),
        ("SUBSTRING", ("lease", 2, 2), "ea"),
        ("SUBSTRING", ("lease", 0), ""),
        ("ABS", ("-5",), 5),
        ("INT", (True,), 1),
        ("BOOL", (2,), True),
        ("STRING", (False,), "false"),
        ("IS_INT", ("12",), True),
        ("IS_INT", ("twelve",), False),
        ("IS_BOOL", ("TRUE",), True),
        ("IS_BOOL", ("1",), False),
    ],
)
def test_the_specs_results(name: str, args: tuple[object, ...], result: object) -> None:
    assert call(name, *args) == result


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("SUBSTRING", ("lease", 6)),
        ("SUBSTRING", ("lease", -6)),
        ("SUBSTRING", ("lease", 1, -1)),
        ("LEFT", ("lease", -1)),
        ("ABS", (INT_MIN,)),
        ("INT", ("x",)),
        ("CONCAT", ("x" * MAX_RUNTIME_RESULT, "y")),
        ("CONCAT_WS", ("-" * MAX_RUNTIME_RESULT, "a", "b")),
        ("UPPER", ("ß" * (MAX_RUNTIME_RESULT // 2 + 1),)),  # a case mapping may grow a string
    ],
)
def test_out_of_range_or_oversized_is_an_evaluation_error(
    name: str, args: tuple[object, ...]
) -> None:
    with pytest.raises(EvaluationError):
        call(name, *args)


@given(st.sampled_from(sorted(FUNCTIONS)), st.lists(st.one_of(st.text(max_size=50),
       st.integers(-(2**31), 2**31 - 1), st.booleans()), min_size=0, max_size=4))  # fmt: skip
def test_any_arguments_give_a_value_or_an_evaluation_error(name: str, args: list[object]) -> None:
    low, high, implementation = FUNCTIONS[name]
    if len(args) < low or (high is not None and len(args) > high):
        return
    try:
        result = implementation(*args)
    except EvaluationError:
        return
    assert isinstance(result, int | bool | str)
    assert not isinstance(result, str) or len(result) <= MAX_RUNTIME_RESULT
