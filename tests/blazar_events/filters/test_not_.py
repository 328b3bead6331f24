import pytest

from blazar_events.errors import InvalidFilter
from blazar_events.filters import from_expression


def test_not_inverts_the_nested_filter() -> None:
    match = from_expression({"not": {"suffix": {"type": ".stop"}}})
    assert match({"type": "org.openstack.blazar.lease.event.before_end_lease"})
    assert not match({"type": "org.openstack.blazar.lease.event.before_end_lease.stop"})


def test_not_of_a_missing_attribute_matches() -> None:
    assert from_expression({"not": {"exact": {"leasestatus": "ERROR"}}})({})


def test_not_takes_one_object_not_a_list() -> None:
    with pytest.raises(InvalidFilter, match="'not' takes one filter object"):
        from_expression({"not": [{"exact": {"a": "b"}}]})
