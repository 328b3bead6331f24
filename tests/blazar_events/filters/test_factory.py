import pytest

from blazar_events.errors import InvalidFilter
from blazar_events.filters import from_expression, from_list


def test_unknown_dialect_is_refused_by_name() -> None:
    with pytest.raises(InvalidFilter, match="unsupported dialect 'regex'"):
        from_expression({"regex": {"type": ".*"}})


@pytest.mark.parametrize("expression", [{}, {"exact": {"a": "b"}, "prefix": {"a": "b"}}, [], "x"])
def test_an_expression_has_exactly_one_dialect_key(expression: object) -> None:
    with pytest.raises(InvalidFilter, match="exactly one dialect key"):
        from_expression(expression)


def test_the_error_quotes_the_offending_expression() -> None:
    with pytest.raises(InvalidFilter) as caught:
        from_expression({"all": [{"exact": {"leaseid": "x"}}, {"prefx": {"type": "y"}}]})
    assert '{"prefx": {"type": "y"}}' in caught.value.message


def test_very_deep_nesting_is_refused_not_a_crash() -> None:
    expression: dict[str, object] = {"exact": {"a": "b"}}
    for _ in range(500):
        expression = {"not": expression}
    with pytest.raises(InvalidFilter, match="nested deeper"):
        from_expression(expression)


def test_a_list_of_filters_is_a_conjunction_and_empty_matches_all() -> None:
    match = from_list([{"exact": {"a": "1"}}, {"exact": {"b": "2"}}])
    assert match({"a": "1", "b": "2"})
    assert not match({"a": "1"})
    assert from_list([])({})
