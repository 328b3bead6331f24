"""The store's reads: pages by project, lease and type in creation order, every subscription,
the subscriptions of one type."""

import uuid

import pytest

from blazar_events.errors import NotFound
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription
from tests.blazar_events.conftest import ids_for_type, make


def test_get_unknown_is_not_found(store: SubscriptionStore) -> None:
    with pytest.raises(NotFound):
        store.get(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        store.get_keys(str(uuid.uuid4()))


def test_list_by_project_is_isolated_ordered_and_paginated(store: SubscriptionStore) -> None:
    mine = [store.create(make(name=f"a{i}"), SigningKeys.generate()) for i in range(7)]
    store.create(make(project_id="project-b"), SigningKeys.generate())
    first = store.list(project_id="project-a", limit=3)
    assert [s.id for s in first] == [s.id for s in mine[:3]]
    second = store.list(project_id="project-a", limit=3, marker=first[-1].id)
    third = store.list(project_id="project-a", limit=3, marker=second[-1].id)
    assert [s.id for s in first + second + third] == [s.id for s in mine]
    assert len(store.list(project_id=None, limit=100)) == 8


def test_list_filters_by_lease_and_type(store: SubscriptionStore) -> None:
    on_lease = store.create(make(lease_id="lease-1"), SigningKeys.generate())
    creates = store.create(make(types=["lease.create"]), SigningKeys.generate())
    every = store.create(make(), SigningKeys.generate())
    store.create(make(project_id="project-b", lease_id="lease-1"), SigningKeys.generate())
    assert [s.id for s in store.list("project-a", lease_id="lease-1")] == [on_lease.id]
    ids = {s.id for s in store.list("project-a", type="org.openstack.blazar.lease.create")}
    assert ids == {on_lease.id, creates.id, every.id}
    ids = {s.id for s in store.list("project-a", type="org.openstack.blazar.lease.delete")}
    assert ids == {on_lease.id, every.id}


def test_all_returns_every_subscription(store: SubscriptionStore) -> None:
    keys = SigningKeys.generate()
    created = {store.create(make(project_id=f"p{i}"), keys).id for i in range(450)}
    assert {s.id for s in store.all()} == created


def test_ids_for_type_includes_subscriptions_to_every_type(store: SubscriptionStore) -> None:
    every = store.create(make(), SigningKeys.generate())
    creates = store.create(make(types=["lease.create"]), SigningKeys.generate())
    store.create(make(types=["lease.delete"]), SigningKeys.generate())
    assert ids_for_type(store, "org.openstack.blazar.lease.create") == {every.id, creates.id}


def test_list_json_is_list_as_stored_json(store: SubscriptionStore) -> None:
    for i in range(4):
        store.create(
            make(name=f"s{i}", types=["lease.create"] if i % 2 else []), SigningKeys.generate()
        )
    for query in ({"project_id": "project-a"}, {"type": "org.openstack.blazar.lease.create"}):
        docs = store.list_json(limit=3, **query)
        assert [Subscription.model_validate_json(d) for d in docs] == store.list(limit=3, **query)
