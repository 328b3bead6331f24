"""EventSubscription spec (camelCase, Kubernetes style) -> the REST subscription body; pure.

Only the conversion lives here: references (sinkRef, deadLetterSink.ref, secretRef) are
resolved by :mod:`k8s.operator.reconcile` through the cluster, which passes the URLs in.
Validation is the model's own (:func:`blazar_events.subscription.from_input`), so a resource
is refused for exactly the reasons the API would refuse the same body.
"""

from __future__ import annotations

from typing import Any

from blazar_events.subscription import SubscriptionInput, from_input

DELIVERY_FIELDS = ("retry", "backoffPolicy", "backoffDelay", "timeout", "ordered")


def to_body(
    spec: dict[str, Any],
    *,
    name: str,
    project_id: str,
    sink: str | None,
    dead_letter_sink: str | None,
) -> dict[str, Any]:
    """The API body for ``spec``; ``sink`` is the resolved sink (None: use notifyEndpoint)."""
    body: dict[str, Any] = {
        "name": name,
        "description": spec.get("description", ""),
        "types": list(spec.get("types", [])),
        "filters": list(spec.get("filters", [])),
        "project_id": project_id,
        "protocol": spec.get("protocol", "HTTP"),
        "protocolsettings": dict(spec.get("protocolSettings", {})),
        "dedicated_function": spec.get("dedicatedFunction", False),
        "initial_state": spec.get("initialState", False),
    }
    reminders = spec.get("reminders")
    if isinstance(reminders, dict):
        body["reminders"] = {
            "before_end": list(reminders.get("beforeEnd", [])),
            "before_start": list(reminders.get("beforeStart", [])),
        }
    if spec.get("leaseId") is not None:
        body["lease_id"] = spec["leaseId"]
    if sink is not None:
        body["sink"] = sink
    elif "notifyEndpoint" in spec:
        endpoint = spec["notifyEndpoint"]
        body["notify_endpoint"] = {
            "ip_address": endpoint.get("ipAddress"),
            "port": endpoint.get("port"),
        }
    delivery = {k: v for k, v in spec.get("delivery", {}).items() if k in DELIVERY_FIELDS}
    if dead_letter_sink is not None:
        delivery["deadLetterSink"] = dead_letter_sink
    if delivery:
        body["delivery"] = delivery
    return body


def from_resource(
    spec: dict[str, Any],
    *,
    name: str,
    project_id: str,
    sink: str | None = None,
    dead_letter_sink: str | None = None,
) -> SubscriptionInput:
    """The validated subscription; InvalidInput (or a subclass) names what is wrong."""
    return from_input(
        to_body(
            spec, name=name, project_id=project_id, sink=sink, dead_letter_sink=dead_letter_sink
        )
    )
