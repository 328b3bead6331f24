"""Render a subscription as a Knative Trigger (``eventing.knative.dev/v1``); pure.

The Trigger sits on the Kafka-class Broker and repeats :mod:`blazar_events.matching` in
Knative's filter dialects (the Subscriptions API ``sql`` dialect is Knative's ``cesql``).
Its subscriber is the delivery function with the subscription id in the path, so one function
deployment serves every subscription unless a dedicated instance is asked for.

Two things keep Knative mode as safe as the standalone broker:

* the dead-letter sink is the function's ``/subscriptions/{id}/deadletter`` route, never the
  tenant's ``deadLetterSink`` itself: Knative's dispatcher would POST there with no SSRF
  check, while the function delivers through the guarded client (checked and pinned at
  connect time);
* each URI carries a capability token, an HMAC of the route and the subscription id under the
  operator's key (:func:`to_token`), which the function checks: knowing a subscription id (it
  is in the Trigger's name) is not enough to have events signed and sent to its sink.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Final

from blazar_events.matching import ADDRESS
from blazar_events.subscription import ALL_PROJECTS, Subscription

API_VERSION = "eventing.knative.dev/v1"
LABEL_ID = "events.blazar.openstack.org/subscription-id"
LABEL_PROJECT = "events.blazar.openstack.org/project-id"
ORDERING_ANNOTATION = "kafka.eventing.knative.dev/delivery.order"
DEFAULT_BROKER = "blazar-events"
DEFAULT_NAMESPACE = "blazar-events"
DEFAULT_FUNCTION_URL = "http://blazar-events-function.blazar-events.svc.cluster.local"
DELIVER_ROUTE: Final = "deliver"
DEAD_LETTER_ROUTE: Final = "deadletter"
TOKEN_PARAMETER: Final = "token"


def to_token(key: bytes, subscription_id: str, route: str) -> str:
    """The capability to call ``route`` of the function for one subscription (hex HMAC)."""
    message = f"blazar-events/{route}/{subscription_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def is_valid_token(key: bytes, subscription_id: str, route: str, token: str | None) -> bool:
    """Constant-time check of a caller's token; any malformed token is simply not valid."""
    if not token or not token.isascii():
        return False
    expected = to_token(key, subscription_id, route)
    return hmac.compare_digest(expected.encode(), token.encode())


def to_route_uri(
    function_url: str, subscription_id: str, route: str, token_key: bytes | None
) -> str:
    """The function's URI for one route of a subscription, with its token when a key is given."""
    uri = f"{function_url.rstrip('/')}/subscriptions/{subscription_id}"
    if route != DELIVER_ROUTE:
        uri += f"/{route}"
    if token_key is not None:
        uri += f"?{TOKEN_PARAMETER}={to_token(token_key, subscription_id, route)}"
    return uri


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


def to_address_filter(subscription_id: str) -> dict[str, Any]:
    """The condition that lets an addressed event (:data:`~blazar_events.matching.ADDRESS`)
    through to its own subscription's Trigger only.

    CESQL, because no other dialect can say "absent": Knative's evaluator (cloudevents'
    sdk-go ``sql/v2``) short-circuits ``OR``, so an event without the attribute never reaches
    the comparison (which would be an error on a missing attribute). Parenthesized fully, as
    :mod:`blazar_events.filters.sql` asks of a tenant, so every engine reads it alike. A
    subscription id is a server-made UUID; quotes are doubled all the same, as CESQL does.
    """
    quoted = subscription_id.replace("'", "''")
    return {"cesql": f"(NOT (EXISTS {ADDRESS})) OR ({ADDRESS} = '{quoted}')"}


def to_filters(sub: Subscription) -> list[dict[str, Any]]:
    """The Trigger's ``spec.filters``: tenant rule, address, types, lease, then the user's."""
    filters: list[dict[str, Any]] = []
    if sub.project_id != ALL_PROJECTS:
        filters.append({"exact": {"projectid": sub.project_id}})
    filters.append(to_address_filter(sub.id))
    if len(sub.types) == 1:
        filters.append({"exact": {"type": sub.types[0]}})
    elif sub.types:
        filters.append({"any": [{"exact": {"type": t}} for t in sub.types]})
    if sub.lease_id is not None:
        filters.append({"exact": {"leaseid": sub.lease_id}})
    filters.extend(to_knative_filter(f) for f in sub.filters)
    return filters


# Knative's dispatcher gives up on a call to the function after the Trigger's timeout and
# calls again. The function itself waits up to the subscription's timeout for the sink, then
# answers: a Trigger timeout equal to it would let Knative call again while the first call may
# still get the sink's 2xx, and the sink would take the event twice (the function's receipts
# only see calls that ended). The Trigger waits this much longer than the function.
TRIGGER_TIMEOUT_MARGIN = 2.0


def to_trigger_timeout(sink_timeout: float) -> str:
    """The Trigger's timeout (ISO 8601) for a subscription whose sink may take ``sink_timeout``."""
    return f"PT{sink_timeout + TRIGGER_TIMEOUT_MARGIN:g}S"


def to_delivery(sub: Subscription, function_url: str, token_key: bytes | None) -> dict[str, Any]:
    """Knative's delivery spec; a dead-letter sink is the function's guarded dead-letter route."""
    spec = sub.delivery
    delivery: dict[str, Any] = {
        "retry": spec.retry,
        "backoffPolicy": spec.backoffPolicy,
        "backoffDelay": spec.backoffDelay,
        "timeout": to_trigger_timeout(spec.timeout_seconds),
    }
    if spec.deadLetterSink:
        uri = to_route_uri(function_url, sub.id, DEAD_LETTER_ROUTE, token_key)
        delivery["deadLetterSink"] = {"uri": uri}
    return delivery


def to_trigger(
    sub: Subscription,
    *,
    broker: str = DEFAULT_BROKER,
    namespace: str = DEFAULT_NAMESPACE,
    function_url: str = DEFAULT_FUNCTION_URL,
    token_key: bytes | None = None,
) -> dict[str, Any]:
    """The Trigger object for ``sub`` as a plain dict (ready for YAML, JSON or the k8s API).

    ``function_url`` is the shared function; a subscription with ``dedicated_function``
    points at its own (:func:`function_name`, created by the operator) instead.
    ``token_key`` is the operator's key: the operator renders with it, the API (which shows
    a tenant its Trigger and does not hold the key) without, so no token is ever shown.
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
        "subscriber": {"uri": to_route_uri(function_url, sub.id, DELIVER_ROUTE, token_key)},
        "delivery": to_delivery(sub, function_url, token_key),
    }
    return {"apiVersion": API_VERSION, "kind": "Trigger", "metadata": metadata, "spec": spec}
