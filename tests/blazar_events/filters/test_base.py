"""What every simple dialect shares (pure): one CloudEvent attribute and a bounded string,
refused otherwise with the expression quoted."""

from __future__ import annotations

import pytest

from blazar_events.errors import InvalidFilter
from blazar_events.filters.base import MAX_VALUE, nested_list, show, single_attribute


def test_one_attribute_and_its_value() -> None:
    assert single_attribute("exact", {"leaseid": "l-1"}) == ("leaseid", "l-1")


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ({}, "exactly one attribute"),
        ({"a": "1", "b": "2"}, "exactly one attribute"),
        ("type", "exactly one attribute"),
        ({"Type": "x"}, "not a CloudEvent attribute name"),
        ({"lease_id": "x"}, "not a CloudEvent attribute name"),
        ({"a" * 65: "x"}, "not a CloudEvent attribute name"),
        ({"type": 1}, "must be a string"),
        ({"type": "x" * (MAX_VALUE + 1)}, f"longer than {MAX_VALUE}"),
    ],
)
def test_anything_else_is_refused_quoting_the_expression(value: object, complaint: str) -> None:
    with pytest.raises(InvalidFilter, match=complaint) as refused:
        single_attribute("prefix", value)
    assert refused.value.message.startswith("filter {")


def test_a_nested_list_is_compiled_item_by_item_and_may_not_be_empty() -> None:
    assert nested_list("all", [1, 2], lambda item: lambda _a: item == 1) is not None
    compiled = nested_list("all", [{"exact": {"a": "b"}}], lambda item: lambda _a: True)
    assert len(compiled) == 1
    for bad in ([], {"exact": {}}, None):
        with pytest.raises(InvalidFilter, match="non-empty list"):
            nested_list("any", bad, lambda item: lambda _a: True)


def test_an_expression_is_shown_short() -> None:
    assert show({"exact": {"type": "x"}}) == '{"exact": {"type": "x"}}'
    long = show({"exact": {"type": "x" * 1000}})
    assert len(long) == 200 and long.endswith("...")
    assert show({1, 2}) == "{1, 2}"  # not JSON: its repr
