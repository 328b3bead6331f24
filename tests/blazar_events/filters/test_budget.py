"""The cost budget of filters: what a tenant writes is refused at create time or evaluated
cheaply, and evaluation never raises anything but :class:`FilterError`."""

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
    "expression",
    [
        "+".join(["1"] * 2000) + " > 1",
        "*".join(["1"] * 2000) + " = 1",
        " OR ".join(["FALSE"] * 400) + " OR TRUE",
    ],
)
def test_long_chains_evaluate_without_deep_recursion(expression: str) -> None:
    # 1+1+...+1 compiled into 2,000 nested closures: RecursionError on every event.
    assert outcome(expression) in (True, False) or "nodes" in str(outcome(expression))


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
