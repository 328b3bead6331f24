"""Dedicated delivery functions: a copy of the shared function's Knative Service; pure.

A subscriber that asks for ``dedicatedFunction`` gets its own Knative Service, so its slow or
bursty sink scales (and fails) on its own pods. The copy takes the shared function's
``spec.template`` as the chart rendered it (image, settings, Secrets, securityContext), so
the operator needs to know nothing about how the chart configures the function.
"""

from __future__ import annotations

import copy
from typing import Any

from blazar_events.triggers import LABEL_ID, function_name

API_VERSION = "serving.knative.dev/v1"
LABEL_DEDICATED = "events.blazar.openstack.org/dedicated-function"


def to_dedicated_function(
    shared: dict[str, Any], subscription_id: str, namespace: str
) -> dict[str, Any]:
    """The Knative Service of one subscription, from the shared function's object."""
    template = copy.deepcopy(shared["spec"]["template"])
    # A fixed revision name would collide with the shared Service's revisions.
    template.get("metadata", {}).pop("name", None)
    labels = {
        key: value
        for key, value in shared["metadata"].get("labels", {}).items()
        if key.startswith("app.kubernetes.io/")
    }
    labels.update({LABEL_ID: subscription_id, LABEL_DEDICATED: "true"})
    labels["networking.knative.dev/visibility"] = "cluster-local"
    return {
        "apiVersion": API_VERSION,
        "kind": "Service",
        "metadata": {"name": function_name(subscription_id), "namespace": namespace,
                     "labels": labels},
        "spec": {"template": template},
    }  # fmt: skip
