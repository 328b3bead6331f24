"""The operator's Trigger side against real Redis and an in-memory cluster: the Triggers and
dedicated functions follow the store, whoever made the subscription."""

from __future__ import annotations

from typing import Any

import pytest

from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription, SubscriptionInput
from blazar_events.triggers import trigger_name
from k8s.operator.routes import Routes
from k8s.settings import OperatorSettings
from tests.k8s.cluster import MemoryCluster

NS = "blazar-events"


@pytest.fixture
def routes(store: SubscriptionStore) -> Routes:
    return Routes(store, MemoryCluster(), OperatorSettings.load(namespace=NS))


@pytest.fixture
def cluster(routes: Routes) -> MemoryCluster:
    assert isinstance(routes.cluster, MemoryCluster)
    return routes.cluster


def _api_subscription(store: SubscriptionStore) -> Subscription:
    body = SubscriptionInput.model_validate({"sink": "https://api-made.example.org/"})
    sub = Subscription.from_input(body, project_id="p-other", owner="api")
    return store.create(sub, SigningKeys.generate())


def _chart_function() -> dict[str, Any]:
    """The shared function exactly as the chart renders it."""
    from tests.charts.render import REQUIRED, render

    (function,) = (o for o in render(REQUIRED) if o["apiVersion"] == "serving.knative.dev/v1")
    function["metadata"]["namespace"] = NS
    return function


def test_sync_removes_the_trigger_of_a_deleted_or_disabled_api_subscription(
    routes: Routes, store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    gone, disabled = _api_subscription(store), _api_subscription(store)
    routes.sync()
    store.delete(gone.id)
    store.set_status(disabled.id, "DISABLED", "the sink answered 410")
    _, deleted = routes.sync()
    assert deleted == sorted([trigger_name(gone.id), trigger_name(disabled.id)])
    assert cluster.triggers == {}


def test_an_api_subscription_that_asks_for_its_own_function_gets_one(
    routes: Routes, store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    cluster.apply_function(_chart_function())
    body = SubscriptionInput.model_validate(
        {"sink": "https://api-made.example.org/", "dedicated_function": True}
    )
    sub = store.create(Subscription.from_input(body, project_id="p-other"), SigningKeys.generate())
    routes.route(sub.id)  # what the change feed triggers
    assert (NS, f"blazar-fn-{sub.id}") in cluster.functions
    uri = cluster.triggers[(NS, trigger_name(sub.id))]["spec"]["subscriber"]["uri"]
    assert uri.startswith(f"http://blazar-fn-{sub.id}.{NS}.svc.cluster.local/")

    store.update(sub.model_copy(update={"dedicated_function": False}))
    routes.sync()
    assert (NS, f"blazar-fn-{sub.id}") not in cluster.functions
    uri = cluster.triggers[(NS, trigger_name(sub.id))]["spec"]["subscriber"]["uri"]
    assert uri.startswith(routes.target.function_url)
