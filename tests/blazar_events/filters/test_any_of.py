import pytest

from blazar_events.errors import InvalidFilter
from blazar_events.filters import from_expression


def test_any_needs_one_nested_filter() -> None:
    match = from_expression(
        {"any": [{"exact": {"leasestatus": "ACTIVE"}}, {"exact": {"leasestatus": "ERROR"}}]}
    )
    assert match({"leasestatus": "ERROR"})
    assert not match({"leasestatus": "PENDING"})


def test_any_refuses_an_empty_list() -> None:
    with pytest.raises(InvalidFilter, match="non-empty list"):
        from_expression({"any": []})
