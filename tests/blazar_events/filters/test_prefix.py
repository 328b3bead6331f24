import pytest

from blazar_events.errors import InvalidFilter
from blazar_events.filters import from_expression


def test_prefix_matches_the_start_of_the_value() -> None:
    match = from_expression({"prefix": {"type": "org.openstack.blazar.lease.event."}})
    assert match({"type": "org.openstack.blazar.lease.event.start_lease"})
    assert not match({"type": "org.openstack.blazar.lease.create"})
    assert not match({"source": "org.openstack.blazar.lease.event.x"})


def test_prefix_refuses_two_attributes() -> None:
    with pytest.raises(InvalidFilter, match="prefix"):
        from_expression({"prefix": {"type": "a", "source": "b"}})
