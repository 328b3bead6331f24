"""Triggers follow the store's change feed: API subscriptions are routed at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription, SubscriptionInput
from blazar_events.triggers import trigger_name
from k8s.operator.follower import follow_once
from k8s.operator.reconcile import Reconciler
from k8s.settings import OperatorSettings
from tests.k8s.cluster import MemoryCluster

NS = "blazar-events"
UID = "0190b3c2-aaaa-7000-8000-0000000000aa"


@pytest.fixture
def reconciler(redis_url: str, redis_prefix: str) -> Iterator[Reconciler]:
    client = redis.Redis.from_url(redis_url)
    settings = OperatorSettings.load(namespace=NS)
    yield Reconciler(SubscriptionStore(client, redis_prefix), MemoryCluster(), settings)
    client.close()


def _create(store: SubscriptionStore) -> Subscription:
    body = SubscriptionInput.model_validate({"sink": "https://hooks.example.org/"})
    sub = Subscription.from_input(body, project_id="p1")
    return store.create(sub, SigningKeys.generate())


def test_created_disabled_enabled_and_deleted_subscriptions_move_their_trigger(
    reconciler: Reconciler,
) -> None:
    store, cluster = reconciler.store, reconciler.cluster
    assert isinstance(cluster, MemoryCluster)
    position = store.last_change_id()
    sub = _create(store)
    key = (NS, trigger_name(sub.id))
    position = follow_once(reconciler, position, block_ms=100)
    assert cluster.triggers[key] == reconciler.trigger(store.get(sub.id))
    store.set_status(sub.id, "DISABLED", "410 from the sink")
    position = follow_once(reconciler, position, block_ms=100)
    assert key not in cluster.triggers
    store.set_status(sub.id, "ACTIVE")
    position = follow_once(reconciler, position, block_ms=100)
    assert key in cluster.triggers
    store.delete(sub.id)
    position = follow_once(reconciler, position, block_ms=100)
    assert key not in cluster.triggers
    assert follow_once(reconciler, position, block_ms=100) == position  # nothing new


def test_editing_a_disabled_resource_enables_it_again(reconciler: Reconciler) -> None:
    store, cluster = reconciler.store, reconciler.cluster
    assert isinstance(cluster, MemoryCluster)
    body = {
        "apiVersion": "events.blazar.openstack.org/v1alpha1",
        "kind": "EventSubscription",
        "metadata": {"name": "hook", "namespace": NS, "uid": UID, "generation": 1},
        "spec": {"sink": "https://hooks.example.org/", "projectId": "p1"},
    }
    reconciler.reconcile(body)
    store.set_status(UID, "DISABLED", "410 from the sink")
    status = reconciler.reconcile(body)  # the periodic look: stays disabled
    assert [c.reason for c in status.conditions if c.type == "TriggerReady"] == ["Disabled"]
    assert (NS, trigger_name(UID)) not in cluster.triggers
    reconciler.reconcile(body, reenable=True)  # kubectl edit
    assert store.get(UID).status == "ACTIVE"
    assert (NS, trigger_name(UID)) in cluster.triggers
