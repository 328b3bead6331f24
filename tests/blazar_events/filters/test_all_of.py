import pytest

from blazar_events.errors import InvalidFilter
from blazar_events.filters import from_expression


def test_all_needs_every_nested_filter() -> None:
    match = from_expression(
        {"all": [{"exact": {"leasestatus": "ACTIVE"}}, {"prefix": {"subject": "9a7b"}}]}
    )
    assert match({"leasestatus": "ACTIVE", "subject": "9a7b0f2e"})
    assert not match({"leasestatus": "ACTIVE", "subject": "other"})


@pytest.mark.parametrize("value", [[], {}, "x", [{"exact": {"a": "b"}}, "nonsense"]])
def test_all_refuses_an_empty_or_malformed_list(value: object) -> None:
    with pytest.raises(InvalidFilter):
        from_expression({"all": value})
