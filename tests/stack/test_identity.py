"""The local stack registers the API where the client looks for it."""

from __future__ import annotations

from keystoneauth1 import session
from keystoneauth1.identity import v3

from blazar_events_client import SERVICE_TYPE, Client
from stack.identity import EVENTS_API_URL, EVENTS_SERVICE_TYPE, KeystoneAdmin, register_events_api


def test_the_stack_registers_the_api_where_the_client_looks(keystone: KeystoneAdmin) -> None:
    assert EVENTS_SERVICE_TYPE == SERVICE_TYPE
    register_events_api(keystone)
    register_events_api(keystone)  # every `stack up` does it again: no second entry
    auth = v3.Password(
        auth_url=keystone.auth_url,
        username=keystone.username,
        password=keystone.password,
        user_domain_name=keystone.user_domain_name,
        project_name=keystone.project_name,
        project_domain_name=keystone.project_domain_name,
    )
    ksa = session.Session(auth=auth)
    catalog = auth.get_access(ksa).service_catalog.catalog
    (entry,) = [s for s in catalog if s["type"] == SERVICE_TYPE]
    here = [e for e in entry["endpoints"] if e["region_id"] == keystone.region_name]
    assert sorted((e["interface"], e["url"]) for e in here) == [
        ("internal", EVENTS_API_URL),
        ("public", EVENTS_API_URL),
    ]
    assert Client(ksa, region_name=keystone.region_name).endpoint == EVENTS_API_URL
