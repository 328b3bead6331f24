"""A dedicated function: the shared function's Knative Service, copied for one subscription
(pure; checked against Knative Serving's schema)."""

from __future__ import annotations

import copy
from typing import Any

from blazar_events.triggers import LABEL_ID, function_name
from k8s.operator.functions import LABEL_DEDICATED, to_dedicated_function
from tests.k8s.validation import object_errors

SHARED: dict[str, Any] = {
    "apiVersion": "serving.knative.dev/v1",
    "kind": "Service",
    "metadata": {
        "name": "blazar-events-function",
        "namespace": "blazar-events",
        "labels": {"app.kubernetes.io/name": "blazar-events", "helm.sh/chart": "x-1"},
    },
    "spec": {
        "template": {
            "metadata": {"name": "blazar-events-function-00001", "annotations": {"a": "b"}},
            "spec": {"containers": [{"image": "registry.example.org/blazar-events:1"}]},
        }
    },
}


def test_the_copy_keeps_the_template_and_is_one_subscriptions_own() -> None:
    shared = copy.deepcopy(SHARED)
    made = to_dedicated_function(shared, "0AB-sub", "team-a")
    assert made["metadata"]["name"] == function_name("0AB-sub")
    assert made["metadata"]["namespace"] == "team-a"
    assert made["metadata"]["labels"] == {
        "app.kubernetes.io/name": "blazar-events",
        LABEL_ID: "0AB-sub",
        LABEL_DEDICATED: "true",
        "networking.knative.dev/visibility": "cluster-local",
    }
    assert made["spec"]["template"]["spec"] == SHARED["spec"]["template"]["spec"]
    assert made["spec"]["template"]["metadata"] == {"annotations": {"a": "b"}}
    assert shared == SHARED  # the shared Service is left as it was
    assert object_errors(made) == []


def test_a_shared_service_without_labels_or_template_metadata_still_copies() -> None:
    shared = {"metadata": {"name": "f"}, "spec": {"template": {"spec": {"containers": []}}}}
    made = to_dedicated_function(shared, "s", "ns")
    assert made["spec"]["template"] == {"spec": {"containers": []}}
    assert made["metadata"]["labels"][LABEL_ID] == "s"
