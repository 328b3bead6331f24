import pytest

from blazar_events.errors import InvalidFilter
from blazar_events.filters import from_expression


def test_exact_matches_only_the_same_value() -> None:
    match = from_expression({"exact": {"leasestatus": "ACTIVE"}})
    assert match({"leasestatus": "ACTIVE"})
    assert not match({"leasestatus": "active"})
    assert not match({"leasestatus": "ACTIVE "})


def test_exact_on_a_missing_attribute_does_not_match() -> None:
    assert not from_expression({"exact": {"leasestatus": ""}})({"type": "x"})


@pytest.mark.parametrize(
    "value",
    [{}, {"a": "1", "b": "2"}, {"Type": "x"}, {"type": 3}, ["type", "x"], "type"],
)
def test_exact_needs_one_lowercase_attribute_with_a_string(value: object) -> None:
    with pytest.raises(InvalidFilter, match="exact"):
        from_expression({"exact": value})
