"""The operator's reconcile logic against real Redis and an in-memory cluster.

No test here talks to a Kubernetes API server (none runs on this machine): the cluster is
:class:`tests.k8s.cluster.MemoryCluster`, standing in for the operator's Cluster protocol.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from blazar_events.errors import NotFound
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription, SubscriptionInput
from blazar_events.triggers import (
    DEAD_LETTER_ROUTE,
    DELIVER_ROUTE,
    to_token,
    to_trigger,
    trigger_name,
)
from k8s.operator.reconcile import Reconciler
from k8s.operator.status import to_status
from k8s.operator.tenancy import PROJECT_ANNOTATION
from k8s.settings import OperatorSettings
from tests.k8s.cluster import MemoryCluster
from tests.k8s.validation import ROOT, load_documents, object_errors

NS = "blazar-events"


@pytest.fixture
def cluster() -> MemoryCluster:
    cluster = MemoryCluster()
    cluster.namespace_annotations["team-a"] = {PROJECT_ANNOTATION: "p-team-a"}
    return cluster


@pytest.fixture
def reconciler(store: SubscriptionStore, cluster: MemoryCluster) -> Reconciler:
    return Reconciler(store, cluster, OperatorSettings.load(namespace=NS))


def resource(spec: dict[str, Any], name: str = "hook", namespace: str = "team-a") -> dict[str, Any]:
    return {
        "apiVersion": "events.blazar.openstack.org/v1alpha1",
        "kind": "EventSubscription",
        "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()),
                     "generation": 1},
        "spec": spec,
    }  # fmt: skip


WEBHOOK = {"types": ["lease.event.start_lease"], "sink": "https://hooks.example.org/blazar"}


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == kind)


def test_a_resource_is_stored_and_routed_and_ready_once_knative_says_so(
    reconciler: Reconciler, store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    body = resource(WEBHOOK)
    status = to_status(reconciler.reconcile(body))
    sub_id = body["metadata"]["uid"]
    stored = store.get(sub_id)
    assert stored.owner == "k8s" and stored.project_id == "p-team-a"
    assert stored.types == ["org.openstack.blazar.lease.event.start_lease"]
    # The operator applies exactly what the API shows for this subscription.
    assert cluster.triggers[(NS, trigger_name(sub_id))] == to_trigger(
        stored, broker="blazar-events", namespace=NS,
        function_url=reconciler.target.function_url,
    )  # fmt: skip
    assert status["subscriptionId"] == sub_id and status["observedGeneration"] == 1
    assert _condition(status, "Ready")["status"] == "Unknown"  # Knative has not answered
    cluster.ready[(NS, trigger_name(sub_id))] = False
    assert _condition(to_status(reconciler.reconcile(body)), "Ready")["status"] == "False"
    cluster.ready[(NS, trigger_name(sub_id))] = True
    status = to_status(reconciler.reconcile(body))
    assert _condition(status, "Ready")["status"] == "True"
    assert _condition(status, "TriggerReady")["status"] == "True"
    assert status["sinkUri"] == "https://hooks.example.org/blazar"


def test_the_generated_signing_secret_is_the_one_the_deliveries_use(
    reconciler: Reconciler, store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    body = resource(WEBHOOK)
    status = to_status(reconciler.reconcile(body))
    secret = cluster.read_secret("team-a", status["secretName"], "secret")
    assert secret is not None and secret.startswith("whsec_")
    assert store.get_keys(body["metadata"]["uid"]).current == secret
    reconciler.reconcile(body)  # a second pass keeps the same secret
    assert store.get_keys(body["metadata"]["uid"]).current == secret


def test_a_secret_ref_supplies_the_signing_secret(
    reconciler: Reconciler, store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    body = resource({**WEBHOOK, "secretRef": {"name": "mine", "key": "k"}})
    status = to_status(reconciler.reconcile(body))
    assert _condition(status, "Ready")["reason"] == "SecretNotFound"
    with pytest.raises(NotFound):
        store.get(body["metadata"]["uid"])
    cluster.secrets[("team-a", "mine")] = {"k": "whsec_" + "A" * 43}
    reconciler.reconcile(body)
    assert store.get_keys(body["metadata"]["uid"]).current == "whsec_" + "A" * 43
    cluster.secrets[("team-a", "mine")] = {"k": "whsec_" + "B" * 43}  # rotated by its owner
    reconciler.reconcile(body)
    assert store.get_keys(body["metadata"]["uid"]).current == "whsec_" + "B" * 43


@pytest.mark.parametrize(
    ("spec", "reason", "words"),
    [
        ({**WEBHOOK, "filters": [{"any": [{"regex": {"type": "x"}}]}]}, "InvalidFilter", "regex"),
        ({"notifyEndpoint": {"ipAddress": "192.168.10.11", "port": 80}}, "SinkRefused", "private"),
        ({"sink": "https://169.254.169.254/latest"}, "SinkRefused", "metadata"),
        ({**WEBHOOK, "delivery": {"timeout": "PT2H"}}, "InvalidInput", "at most one hour"),
    ],
)
def test_a_spec_the_model_refuses_is_ready_false_with_the_reason(
    reconciler: Reconciler, store: SubscriptionStore, cluster: MemoryCluster,
    spec: dict[str, Any], reason: str, words: str,
) -> None:  # fmt: skip
    body = resource(spec)
    ready = _condition(to_status(reconciler.reconcile(body)), "Ready")
    assert (ready["status"], ready["reason"]) == ("False", reason)
    assert words in ready["message"]
    assert store.all() == [] and cluster.triggers == {}


@pytest.mark.parametrize(
    ("namespace", "spec_project", "words"),
    [
        ("team-b", None, "not bound to an OpenStack project"),
        ("team-a", "p-someone-else", "not the project of namespace team-a"),
        ("team-a", "*", "only admin namespaces"),
    ],
)
def test_a_tenant_namespace_subscribes_to_its_own_project_only(
    reconciler: Reconciler, store: SubscriptionStore,
    namespace: str, spec_project: str | None, words: str,
) -> None:  # fmt: skip
    spec = {**WEBHOOK, **({"projectId": spec_project} if spec_project else {})}
    outcome = reconciler.reconcile(resource(spec, namespace=namespace))
    ready = _condition(to_status(outcome), "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "PolicyNotAuthorized")
    assert words in ready["message"]
    assert store.all() == []


def test_the_admin_namespace_may_subscribe_to_every_project(
    reconciler: Reconciler, store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    body = resource({**WEBHOOK, "projectId": "*"}, namespace=NS)
    reconciler.reconcile(body)
    stored = store.get(body["metadata"]["uid"])
    assert stored.project_id == "*"
    # No tenant rule in its Trigger: it sees every project's leases.
    filters = cluster.triggers[(NS, trigger_name(stored.id))]["spec"]["filters"]
    assert not [f for f in filters if "projectid" in f.get("exact", {})]


def test_an_invalid_update_keeps_the_last_valid_spec_in_effect(
    reconciler: Reconciler, store: SubscriptionStore
) -> None:
    body = resource(WEBHOOK)
    reconciler.reconcile(body)
    broken = copy.deepcopy(body)
    broken["spec"]["sink"] = "https://10.0.0.5/"
    assert _condition(to_status(reconciler.reconcile(broken)), "Ready")["status"] == "False"
    assert store.get(body["metadata"]["uid"]).sink == WEBHOOK["sink"]


def test_a_sink_ref_resolves_through_the_cluster(
    reconciler: Reconciler, store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    ref = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "audit"}
    body = resource({"sinkRef": ref})
    ready = _condition(to_status(reconciler.reconcile(body)), "Ready")
    assert ready["reason"] == "SinkNotResolved"
    cluster.addresses[("team-a", "Service", "audit")] = "https://audit.team-a.example.org"
    status = to_status(reconciler.reconcile(body))
    assert status["sinkUri"] == "https://audit.team-a.example.org"
    assert store.get(body["metadata"]["uid"]).sink == "https://audit.team-a.example.org"


def test_an_update_changes_the_record_and_the_trigger(
    reconciler: Reconciler, store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    body = resource(WEBHOOK)
    reconciler.reconcile(body)
    body["spec"] = {**WEBHOOK, "leaseId": "lease-1", "delivery": {"ordered": True}}
    reconciler.reconcile(body)
    stored = store.get(body["metadata"]["uid"])
    assert stored.lease_id == "lease-1" and stored.version == 2
    trigger = cluster.triggers[(NS, trigger_name(stored.id))]
    assert {"exact": {"leaseid": "lease-1"}} in trigger["spec"]["filters"]
    assert trigger["metadata"]["annotations"] == {
        "kafka.eventing.knative.dev/delivery.order": "ordered"
    }


def test_deleting_the_resource_removes_record_and_trigger(
    reconciler: Reconciler, store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    body = resource(WEBHOOK)
    reconciler.reconcile(body)
    reconciler.remove(body)
    with pytest.raises(NotFound):
        store.get(body["metadata"]["uid"])
    assert cluster.triggers == {}
    reconciler.remove(body)  # a repeated finalizer run is harmless


def _api_subscription(store: SubscriptionStore) -> Subscription:
    body = SubscriptionInput.model_validate({"sink": "https://api-made.example.org/"})
    sub = Subscription.from_input(body, project_id="p-other", owner="api")
    return store.create(sub, SigningKeys.generate())


def test_sync_routes_api_subscriptions_and_recreates_a_trigger_deleted_by_hand(
    reconciler: Reconciler, store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    made_by_api = _api_subscription(store)
    body = resource(WEBHOOK)
    reconciler.reconcile(body)
    cluster.delete_trigger(NS, trigger_name(body["metadata"]["uid"]))  # kubectl delete trigger
    applied, deleted = reconciler.sync()
    assert set(applied) == {trigger_name(made_by_api.id), trigger_name(body["metadata"]["uid"])}
    assert deleted == []
    assert (NS, trigger_name(body["metadata"]["uid"])) in cluster.triggers
    assert cluster.triggers[(NS, trigger_name(made_by_api.id))] == reconciler.trigger(made_by_api)


def test_standalone_mode_stores_without_triggers(
    store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    settings = OperatorSettings.load(namespace=NS, knative=False)
    reconciler = Reconciler(store, cluster, settings)
    status = to_status(reconciler.reconcile(resource(WEBHOOK)))
    assert _condition(status, "Ready")["status"] == "True"
    assert cluster.triggers == {} and reconciler.sync() == ([], [])


def _examples() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted((ROOT / "k8s" / "examples").glob("*.yaml"))
        for doc in load_documents(path.read_text())
    ]


@pytest.mark.parametrize("doc", _examples(), ids=lambda d: d["metadata"]["name"])
def test_every_example_becomes_a_stored_subscription(
    store: SubscriptionStore, cluster: MemoryCluster, doc: dict[str, Any]
) -> None:
    # The proposal's endpoints sit on a private tenant network: the operator must allow it.
    settings = OperatorSettings.load(namespace=NS, allowed_networks=["192.168.10.0/24"])
    cluster.addresses[("team-a", "Service", "lease-audit")] = "https://audit.example.org/"
    cluster.secrets[("team-a", "lease-audit-signing")] = {"secret": "whsec_" + "C" * 43}
    body = copy.deepcopy(doc)
    body["metadata"]["uid"] = str(uuid.uuid4())
    status = to_status(Reconciler(store, cluster, settings).reconcile(body))
    assert _condition(status, "Stored")["status"] == "True", status


def _chart_function() -> dict[str, Any]:
    """The shared function exactly as the chart renders it."""
    from tests.charts.render import REQUIRED, render

    (function,) = (o for o in render(REQUIRED) if o["apiVersion"] == "serving.knative.dev/v1")
    function["metadata"]["namespace"] = NS
    return function


def test_a_dedicated_function_is_a_copy_of_the_shared_one_and_gets_the_events(
    reconciler: Reconciler, cluster: MemoryCluster
) -> None:
    body = resource({**WEBHOOK, "dedicatedFunction": True})
    ready = _condition(to_status(reconciler.reconcile(body)), "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "FunctionNotReady")
    shared = _chart_function()
    cluster.apply_function(shared)
    reconciler.reconcile(body)
    sub_id = body["metadata"]["uid"]
    dedicated = cluster.functions[(NS, f"blazar-fn-{sub_id}")]
    assert object_errors(dedicated) == []
    assert dedicated["spec"]["template"]["spec"] == shared["spec"]["template"]["spec"]
    trigger = cluster.triggers[(NS, trigger_name(sub_id))]
    assert trigger["spec"]["subscriber"]["uri"].startswith(
        f"http://blazar-fn-{sub_id}.{NS}.svc.cluster.local/"
    )
    # Ready needs both the function and the Trigger.
    cluster.ready[(NS, trigger_name(sub_id))] = True
    status = to_status(reconciler.reconcile(body))
    assert _condition(status, "FunctionReady")["status"] == "Unknown"
    assert _condition(status, "Ready")["status"] == "Unknown"
    cluster.functions_ready[(NS, f"blazar-fn-{sub_id}")] = True
    assert _condition(to_status(reconciler.reconcile(body)), "Ready")["status"] == "True"
    # sync keeps it on its own function.
    reconciler.sync()
    assert cluster.triggers[(NS, trigger_name(sub_id))] == trigger


def test_turning_the_dedicated_function_off_or_deleting_removes_it(
    reconciler: Reconciler, store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    cluster.apply_function(_chart_function())
    body = resource({**WEBHOOK, "dedicatedFunction": True})
    sub_id = body["metadata"]["uid"]
    reconciler.reconcile(body)
    body["spec"] = dict(WEBHOOK)
    reconciler.reconcile(body)
    assert (NS, f"blazar-fn-{sub_id}") not in cluster.functions
    uri = cluster.triggers[(NS, trigger_name(sub_id))]["spec"]["subscriber"]["uri"]
    assert uri.startswith(reconciler.target.function_url)
    body["spec"] = {**WEBHOOK, "dedicatedFunction": True}
    reconciler.reconcile(body)
    store.delete(sub_id)  # e.g. gone from the store behind the operator's back
    reconciler.sync()
    assert (NS, f"blazar-fn-{sub_id}") not in cluster.functions
    assert (NS, "blazar-events-function") in cluster.functions  # the shared one stays


@pytest.mark.parametrize(
    ("dead_letter", "rule"),
    [
        ({"uri": "http://169.254.169.254/latest/meta-data/"}, "metadata"),
        ({"uri": "http://[fd00:ec2::254]/"}, "metadata"),
        ({"uri": "http://10.0.0.5:8080/dl"}, "private"),
        ({"uri": "http://localhost:9000/"}, "loopback"),
        ({"ref": {"apiVersion": "v1", "kind": "Service", "name": "dl"}}, "private"),
    ],
)
def test_a_dead_letter_sink_is_checked_like_the_sink(
    reconciler: Reconciler, store: SubscriptionStore, cluster: MemoryCluster,
    dead_letter: dict[str, Any], rule: str,
) -> None:  # fmt: skip
    cluster.addresses[("team-a", "Service", "dl")] = "http://10.96.0.12/"
    body = resource({**WEBHOOK, "delivery": {"deadLetterSink": dead_letter}})
    ready = _condition(to_status(reconciler.reconcile(body)), "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "SinkRefused")
    assert "deadLetterSink" in ready["message"] and f"rule={rule}" in ready["message"]
    assert store.all() == [] and cluster.triggers == {}


def test_the_operator_renders_tokens_and_routes_dead_letters_through_the_function(
    store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    key = "k" * 40
    reconciler = Reconciler(store, cluster, OperatorSettings.load(namespace=NS, token_key=key))
    body = resource({**WEBHOOK, "delivery": {"deadLetterSink": {"uri": "https://dl.example.org/"}}})
    reconciler.reconcile(body)
    sub_id = body["metadata"]["uid"]
    spec = cluster.triggers[(NS, trigger_name(sub_id))]["spec"]
    base = f"{reconciler.target.function_url}/subscriptions/{sub_id}"
    assert spec["subscriber"]["uri"] == (
        f"{base}?token={to_token(key.encode(), sub_id, DELIVER_ROUTE)}"
    )
    assert spec["delivery"]["deadLetterSink"]["uri"] == (
        f"{base}/deadletter?token={to_token(key.encode(), sub_id, DEAD_LETTER_ROUTE)}"
    )
    assert store.get(sub_id).delivery.deadLetterSink == "https://dl.example.org/"


def test_the_operator_applies_the_apis_quota_through_the_same_store_call(
    store: SubscriptionStore, cluster: MemoryCluster
) -> None:
    settings = OperatorSettings.load(namespace=NS, max_subscriptions_per_project=2)
    reconciler = Reconciler(store, cluster, settings)
    store.create(  # one from the API counts too
        Subscription(project_id="p-team-a", sink="https://hooks.example.org/"),
        SigningKeys.generate(),
    )
    outcomes = [reconciler.reconcile(resource(WEBHOOK, name=f"hook-{n}")) for n in range(3)]
    reasons = [_condition(to_status(o), "Ready").get("reason") for o in outcomes]
    assert reasons.count("QuotaExceeded") == 2
    assert store.count("p-team-a") == 2


def test_initial_state_asks_for_one_snapshot_when_the_subscription_is_first_stored(
    reconciler: Reconciler, store: SubscriptionStore
) -> None:
    body = resource({**WEBHOOK, "initialState": True})
    reconciler.reconcile(body)
    reconciler.reconcile(body)  # resumed, looked at again: not asked twice
    asked = [fields for _, fields in store.requests() if fields.get("kind") == "snapshot"]
    assert [fields["subscription_id"] for fields in asked] == [body["metadata"]["uid"]]
    reconciler.reconcile(resource(dict(WEBHOOK), name="plain"))
    assert len([f for _, f in store.requests() if f.get("kind") == "snapshot"]) == 1
