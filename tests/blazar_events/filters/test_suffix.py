import pytest

from blazar_events.errors import InvalidFilter
from blazar_events.filters import from_expression


def test_suffix_matches_the_end_of_the_value() -> None:
    match = from_expression({"suffix": {"type": "_lease"}})
    assert match({"type": "org.openstack.blazar.lease.event.end_lease"})
    assert not match({"type": "org.openstack.blazar.lease.event.before_end_lease.stop"})
    assert not match({})


def test_suffix_refuses_a_non_string_value() -> None:
    with pytest.raises(InvalidFilter, match="must be a string"):
        from_expression({"suffix": {"type": None}})
