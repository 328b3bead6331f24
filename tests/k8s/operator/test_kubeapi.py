"""KubeApi, the operator's REST client, against an HTTP server shaped like the API server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from blazar_events.subscription import Subscription, SubscriptionInput
from blazar_events.triggers import LABEL_ID, to_trigger
from k8s.operator.kubeapi import KubeApi
from tests.k8s.apiserver import State, serve

TRIGGERS = "/apis/eventing.knative.dev/v1/namespaces/blazar-events/triggers"
OWNER = {
    "apiVersion": "events.blazar.openstack.org/v1alpha1",
    "kind": "EventSubscription",
    "metadata": {"name": "hook", "namespace": "team-a", "uid": "3f0c9c1e-0000-4000-8000-1"},
}


@pytest.fixture
def api() -> Iterator[tuple[KubeApi, State]]:
    with serve() as (url, state):
        yield KubeApi(url, "token-123", ca_file=False), state


def _trigger(lease: str | None = None) -> dict[str, object]:
    body = {"sink": "https://hooks.example.org/", "lease_id": lease}
    sub_id = "0190b3c2-aaaa-7000-8000-000000000001"
    spec = SubscriptionInput.model_validate(body)
    sub = Subscription.from_input(spec, project_id="p1", id=sub_id)
    return to_trigger(sub)


def test_a_generated_secret_is_created_owned_and_read_back(api: tuple[KubeApi, State]) -> None:
    kube, state = api
    assert kube.read_secret("team-a", "hook-signing", "secret") is None
    kube.create_secret("team-a", "hook-signing", {"secret": "whsec_abc"}, OWNER)
    kube.create_secret("team-a", "hook-signing", {"secret": "whsec_other"}, OWNER)  # 409: kept
    assert kube.read_secret("team-a", "hook-signing", "secret") == "whsec_abc"
    assert kube.read_secret("team-a", "hook-signing", "other-key") is None
    stored = state.objects["/api/v1/namespaces/team-a/secrets/hook-signing"]
    (owner,) = stored["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == (
        "EventSubscription", OWNER["metadata"]["uid"], True,  # type: ignore[index]
    )  # fmt: skip
    assert all(auth == "Bearer token-123" for _, _, auth in state.requests)


def test_addresses_of_knative_services_and_core_services(api: tuple[KubeApi, State]) -> None:
    kube, state = api
    ksvc = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "audit"}
    assert kube.address("team-a", ksvc) is None
    state.objects["/apis/serving.knative.dev/v1/namespaces/team-a/services/audit"] = {
        "metadata": {"name": "audit"},
        "status": {"address": {"url": "http://audit.team-a.svc.cluster.local"}},
    }
    assert kube.address("team-a", ksvc) == "http://audit.team-a.svc.cluster.local"
    core = {"apiVersion": "v1", "kind": "Service", "name": "hooks", "namespace": "web"}
    assert kube.address("team-a", core) == "http://hooks.web.svc.cluster.local"


def test_a_trigger_is_created_replaced_when_changed_and_left_alone_otherwise(
    api: tuple[KubeApi, State],
) -> None:
    kube, state = api
    first = _trigger()
    name = first["metadata"]["name"]  # type: ignore[index]
    kube.apply_trigger(first)
    kube.apply_trigger(first)
    kube.apply_trigger(_trigger(lease="lease-1"))
    # What Knative's webhook would add is no reason to write again.
    state.objects[f"{TRIGGERS}/{name}"]["spec"]["subscriber"]["CACerts"] = "defaulted"
    kube.apply_trigger(_trigger(lease="lease-1"))
    writes = [(m, p) for m, p, _ in state.requests if m in ("POST", "PUT")]
    assert writes == [("POST", TRIGGERS), ("PUT", f"{TRIGGERS}/{name}")]
    stored = state.objects[f"{TRIGGERS}/{name}"]
    assert {"exact": {"leaseid": "lease-1"}} in stored["spec"]["filters"]


def test_trigger_readiness_listing_and_deletion(api: tuple[KubeApi, State]) -> None:
    kube, state = api
    trigger = _trigger()
    name = str(trigger["metadata"]["name"])  # type: ignore[index]
    assert kube.trigger_ready("blazar-events", name) == (None, f"{name} does not exist")
    kube.apply_trigger(trigger)
    assert kube.trigger_ready("blazar-events", name)[0] is None
    state.objects[f"{TRIGGERS}/{name}"]["status"] = {
        "conditions": [{"type": "Ready", "status": "False", "message": "no subscriber"}]
    }
    assert kube.trigger_ready("blazar-events", name) == (False, "no subscriber")
    assert kube.list_triggers("blazar-events", LABEL_ID) == [name]
    kube.delete_trigger("blazar-events", name)
    kube.delete_trigger("blazar-events", name)  # already gone: fine
    assert kube.list_triggers("blazar-events", LABEL_ID) == []


def test_the_project_a_namespace_is_bound_to(api: tuple[KubeApi, State]) -> None:
    kube, state = api
    key = "events.blazar.openstack.org/project-id"
    assert kube.namespace_annotation("team-a", key) is None
    state.objects["/api/v1/namespaces/team-a"] = {
        "metadata": {"name": "team-a", "annotations": {key: "p-team-a"}}
    }
    assert kube.namespace_annotation("team-a", key) == "p-team-a"
    assert kube.namespace_annotation("team-a", "other") is None


def test_dedicated_functions_are_created_listed_and_deleted(api: tuple[KubeApi, State]) -> None:
    kube, state = api
    services = "/apis/serving.knative.dev/v1/namespaces/blazar-events/services"
    function = {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "blazar-fn-x", "namespace": "blazar-events",
                     "labels": {LABEL_ID: "x"}},
        "spec": {"template": {"spec": {"containers": [{"image": "img:1"}]}}},
    }  # fmt: skip
    assert kube.get_function("blazar-events", "blazar-fn-x") is None
    kube.apply_function(function)
    assert kube.get_function("blazar-events", "blazar-fn-x") is not None
    assert kube.list_functions("blazar-events", LABEL_ID) == ["blazar-fn-x"]
    state.objects[f"{services}/blazar-fn-x"]["status"] = {
        "conditions": [{"type": "Ready", "status": "True"}]
    }
    assert kube.function_ready("blazar-events", "blazar-fn-x") == (True, "")
    kube.delete_function("blazar-events", "blazar-fn-x")
    assert kube.list_functions("blazar-events", LABEL_ID) == []
