"""Render a subscription as a Knative Trigger (``eventing.knative.dev/v1``); pure.

The Trigger sits on the Kafka-class Broker and repeats :mod:`blazar_events.matching` in
Knative's filter dialects (the Subscriptions API ``sql`` dialect is Knative's ``cesql``).
Its subscriber is the delivery function with the subscription id in the path, so one function
deployment serves every subscription unless a dedicated instance is asked for.
"""

from __future__ import annotations

from typing import Any

from blazar_events.subscription import ALL_PROJECTS, Subscription

API_VERSION = "eventing.knative.dev/v1"
LABEL_ID = "events.blazar.openstack.org/subscription-id"
LABEL_PROJECT = "events.blazar.openstack.org/project-id"
ORDERING_ANNOTATION = "kafka.eventing.knative.dev/delivery.order"
DEFAULT_BROKER = "blazar-events"
DEFAULT_NAMESPACE = "blazar-events"
DEFAULT_FUNCTION_URL = "http://blazar-events-function.blazar-events.svc.cluster.local"


def function_name(subscription_id: str) -> str:
    """The dedicated function's Knative Service name: a DNS-1123 label, stable."""
    return f"blazar-fn-{subscription_id.lower()}"[:63].rstrip("-")


def service_url(name: str, namespace: str) -> str:
    """The cluster-local address of the Knative Service ``name``."""
    return f"http://{name}.{namespace}.svc.cluster.local"


def trigger_name(subscription_id: str) -> str:
    """A DNS-1123 name (<= 63 chars) that is stable for the subscription."""
    return f"blazar-sub-{subscription_id.lower()}"[:63].rstrip("-")


def to_knative_filter(expression: dict[str, Any]) -> dict[str, Any]:
    """One Subscriptions API filter in Knative's spelling (recursively)."""
    ((dialect, value),) = expression.items()
    if dialect == "sql":
        return {"cesql": value}
    if dialect in ("all", "any"):
        return {dialect: [to_knative_filter(item) for item in value]}
    if dialect == "not":
        return {"not": to_knative_filter(value)}
    return {dialect: dict(value)}


def to_filters(sub: Subscription) -> list[dict[str, Any]]:
    """The Trigger's ``spec.filters``: tenant rule, types, lease, then the user's filters."""
    filters: list[dict[str, Any]] = []
    if sub.project_id != ALL_PROJECTS:
        filters.append({"exact": {"projectid": sub.project_id}})
    if len(sub.types) == 1:
        filters.append({"exact": {"type": sub.types[0]}})
    elif sub.types:
        filters.append({"any": [{"exact": {"type": t}} for t in sub.types]})
    if sub.lease_id is not None:
        filters.append({"exact": {"leaseid": sub.lease_id}})
    filters.extend(to_knative_filter(f) for f in sub.filters)
    return filters


def to_delivery(sub: Subscription) -> dict[str, Any]:
    spec = sub.delivery
    delivery: dict[str, Any] = {
        "retry": spec.retry,
        "backoffPolicy": spec.backoffPolicy,
        "backoffDelay": spec.backoffDelay,
        "timeout": spec.timeout,
    }
    if spec.deadLetterSink:
        delivery["deadLetterSink"] = {"uri": spec.deadLetterSink}
    return delivery


def to_trigger(
    sub: Subscription,
    *,
    broker: str = DEFAULT_BROKER,
    namespace: str = DEFAULT_NAMESPACE,
    function_url: str = DEFAULT_FUNCTION_URL,
) -> dict[str, Any]:
    """The Trigger object for ``sub`` as a plain dict (ready for YAML, JSON or the k8s API).

    ``function_url`` is the shared function; a subscription with ``dedicated_function``
    points at its own (:func:`function_name`, created by the operator) instead.
    """
    if sub.dedicated_function:
        function_url = service_url(function_name(sub.id), namespace)
    metadata: dict[str, Any] = {
        "name": trigger_name(sub.id),
        "namespace": namespace,
        "labels": {LABEL_ID: sub.id},
    }
    if sub.project_id != ALL_PROJECTS:
        metadata["labels"][LABEL_PROJECT] = sub.project_id
    if sub.delivery.ordered:
        metadata["annotations"] = {ORDERING_ANNOTATION: "ordered"}
    spec: dict[str, Any] = {
        "broker": broker,
        "filters": to_filters(sub),
        "subscriber": {"uri": f"{function_url.rstrip('/')}/subscriptions/{sub.id}"},
        "delivery": to_delivery(sub),
    }
    return {"apiVersion": API_VERSION, "kind": "Trigger", "metadata": metadata, "spec": spec}
