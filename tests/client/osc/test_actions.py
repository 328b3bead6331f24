"""`openstack reservation event type list` through the real `openstack` entry point, against
the API in keystone mode found in the real Keystone's catalog."""

from __future__ import annotations

import pytest

from tests.client.conftest import Cloud, openstack

# Each command logs in to Keystone, as a user's does (no assertion here is about time).
pytestmark = pytest.mark.timeout(900)


def test_event_types_in_every_format(cloud: Cloud) -> None:
    alice = cloud.member_a
    as_json = openstack(alice, "reservation", "event", "type", "list", "-f", "json").json()
    shorts = {t["Short"] for t in as_json}
    assert {"lease.event.start_lease", "lease.event.before_end_lease"} <= shorts
    table = openstack(alice, "reservation", "event", "type", "list")
    assert table.code == 0 and "| Type" in table.out and "start_lease" in table.out
    value = openstack(alice, "reservation", "event", "type", "list", "-f", "value", "-c", "Type")
    assert "org.openstack.blazar.lease.event.start_lease" in value.out.split()
    long = openstack(alice, "reservation", "event", "type", "list", "--long", "-f", "json").json()
    assert all(isinstance(t["Dataschema"], dict) for t in long)
