"""The cost budget of filters: what a tenant writes is refused at create time or evaluated
cheaply, and evaluation never raises anything but :class:`FilterError`."""

import sys
from typing import Any

import pytest

from blazar_events.errors import FilterError, InvalidFilter
from blazar_events.filters import from_expression

EVENT = {"type": "org.openstack.blazar.lease.event.start_lease", "subject": "lease-1"}


def outcome(expression: str, attributes: dict[str, str] = EVENT) -> bool | str:
    """The filter's verdict, or the refusal's message."""
    try:
        match = from_expression({"sql": expression})
    except InvalidFilter as exc:
        return exc.message
    return match(attributes)


def test_int_of_a_huge_digit_string_is_refused_or_does_not_match() -> None:
    # Accepted by the API before, then ValueError (int() past 4,300 digits) in the broker.
    nines = "9" * 2000
    refusal = outcome(f"INT(CONCAT_WS('{nines}','1','1','1','1','1')) > 1")
    assert isinstance(refusal, str) and "literal longer than" in refusal
    # The same within the literal limit: 4,005 digits are no 32-bit integer.
    nines = "9" * 1000
    assert outcome(f"INT(CONCAT_WS('{nines}','1','1','1','1','1')) > 1") is False
    assert outcome(f"IS_INT(CONCAT_WS('{nines}','1','1','1','1','1'))") is False


def test_a_long_digit_attribute_is_no_integer() -> None:
    assert outcome("sequence > 1", {"sequence": "9" * 100_000}) is False
    assert outcome("sequence = 7", {"sequence": "0" * 5_000 + "7"}) is True


@pytest.mark.parametrize(
    "expression",
    [
        "NOT " * 1000 + "TRUE",
        "- " * 1000 + "1 = 1",
        "(" * 1000 + "TRUE" + ")" * 1000,
        "LENGTH(" * 500 + "'x'" + ")" * 500 + " > 0",
    ],
)
def test_deep_nesting_is_refused_naming_the_depth(expression: str) -> None:
    # NOT x 1000 was a RecursionError: a 500 at the API.
    refusal = outcome(expression)
    assert isinstance(refusal, str) and "nested deeper" in refusal


@pytest.mark.parametrize(
    ("operator", "term", "verdict"),
    [("+", "1", "> 1"), ("*", "1", "= 1"), (" OR ", "FALSE", ""), (" AND ", "TRUE", "")],
)
def test_long_chains_run_in_little_stack_or_are_refused(
    operator: str, term: str, verdict: str
) -> None:
    # 1+1+...+1 compiled into one nested closure per term: RecursionError on every event.
    accepted = operator.join([term] * 400) + (f" {verdict}" if verdict else "")
    match = from_expression({"sql": accepted})
    assert with_stack_left(STACK_LEFT, lambda: match({})) is (operator != " OR ")
    refusal = str(outcome(operator.join([term] * 1000)))
    assert "more than 512 nodes" in refusal or "longer than 4096 characters" in refusal


def test_a_string_function_cannot_build_a_huge_string() -> None:
    # Each level multiplies the separator's length by 8: 8^12 characters from 1 KB of text.
    expression = "'xxxxxxxx'"
    for _ in range(12):
        expression = f"CONCAT_WS({expression},'a','a','a','a','a','a','a','a','a')"
    refusal = outcome(f"LENGTH({expression}) > 1")
    assert isinstance(refusal, str) and "characters" in refusal


def test_copies_of_an_attribute_are_bounded() -> None:
    expression = "type"
    for _ in range(6):
        expression = f"CONCAT({expression},{expression})"
    refusal = outcome(f"LENGTH({expression}) > 1")
    assert isinstance(refusal, str) and "attribute" in refusal


def test_a_large_literal_is_refused() -> None:
    refusal = outcome("type = '" + "x" * 3000 + "'")
    assert isinstance(refusal, str) and "literal" in refusal


def test_evaluation_raises_only_filter_error() -> None:
    match = from_expression({"sql": "type = 'x'"})
    with pytest.raises(FilterError):
        match(None)  # type: ignore[arg-type]
    with pytest.raises(FilterError):
        from_expression({"exact": {"type": "x"}})(42)  # type: ignore[arg-type]


SHAPES = {
    "parentheses": lambda k: "(" * k + "TRUE" + ")" * k,
    "NOT": lambda k: "NOT " * k + "TRUE",
    "minus": lambda k: "- " * k + "1",
    "NOT (": lambda k: "NOT (" * k + "TRUE" + ")" * k,
    "calls": lambda k: "LENGTH(" * k + "type" + ")" * k + " > 0",
    "CONCAT": lambda k: "LENGTH(" + "CONCAT(" * k + "type" + ")" * k + ") > 0",
    "IN": lambda k: "1 IN (" * k + "1" + ")" * k,
    "mixed": lambda k: "(" * k + "1 + 2 * 3 = 7 AND type LIKE '%' AND (-(1)) < 0" + ")" * k,
}
STACK_LEFT = 400  # frames: the broker and the API call filters well within 1,000 - 400


def deepest_accepted(make: Any) -> str:
    depth = 1
    while True:
        try:
            from_expression({"sql": make(depth + 1)})
        except InvalidFilter as exc:
            assert "nested deeper" in exc.message
            return str(make(depth))
        depth += 1


def with_stack_left(frames: int, work: Any) -> Any:
    """``work()`` called with only ``frames`` frames left before the recursion limit."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back

    def descend(n: int) -> Any:
        return work() if n <= 0 else descend(n - 1)

    return descend(sys.getrecursionlimit() - depth - frames)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_deepest_accepted_filters_compile_and_run_in_little_stack(shape: str) -> None:
    text = deepest_accepted(SHAPES[shape])
    result = with_stack_left(
        STACK_LEFT, lambda: from_expression({"sql": text})({"type": "lease.x"})
    )
    assert result in (True, False)


def test_filter_objects_are_bounded_in_number_and_value_size() -> None:
    with pytest.raises(InvalidFilter, match="longer than 1024 characters"):
        from_expression({"prefix": {"type": "x" * 1025}})
    with pytest.raises(InvalidFilter, match="more than 256 filter objects"):
        from_expression({"any": [{"exact": {"type": str(n)}} for n in range(300)]})
    assert from_expression({"any": [{"exact": {"type": str(n)}} for n in range(255)]})(
        {"type": "7"}
    )
