import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blazar_events.delivery_spec import from_iso_duration
from blazar_events.filters import from_list
from blazar_events.matching import compile_subscription
from blazar_events.subscription import Subscription, from_input
from blazar_events.triggers import (
    DEAD_LETTER_ROUTE,
    DELIVER_ROUTE,
    TRIGGER_TIMEOUT_MARGIN,
    is_valid_token,
    to_token,
    to_trigger,
)

SCHEMA = json.loads((Path(__file__).parent / "knative-trigger.schema.json").read_text())


def sub(project_id: str = "project-a", **body: Any) -> Subscription:
    return Subscription.from_input(
        from_input({"sink": "https://hooks.example.org/", **body}), project_id=project_id
    )


EXAMPLES = [
    sub(),
    sub(project_id="*"),
    sub(types=["lease.create", "lease.delete"], lease_id="lease-1"),
    sub(
        filters=[
            {"all": [{"prefix": {"type": "org.openstack.blazar.lease."}}]},
            {"not": {"any": [{"suffix": {"type": ".stop"}}, {"exact": {"leasestatus": "X"}}]}},
        ],
        delivery={"deadLetterSink": "https://dlq.example.org/", "ordered": True, "retry": 3},
    ),
]


@pytest.mark.parametrize("subscription", EXAMPLES)
def test_rendered_trigger_is_valid_against_the_trigger_schema(subscription: Subscription) -> None:
    for key in (None, KEY):
        trigger = to_trigger(subscription, token_key=key)
        jsonschema.validate(trigger, SCHEMA, format_checker=jsonschema.FormatChecker())
        assert yaml.safe_load(yaml.safe_dump(trigger)) == trigger


def test_trigger_enforces_the_tenant_rule_first() -> None:
    spec = to_trigger(sub(filters=[{"exact": {"projectid": "project-b"}}]))["spec"]
    assert spec["filters"][0] == {"exact": {"projectid": "project-a"}}
    assert {"exact": {"projectid": "project-b"}} in spec["filters"]


def test_all_projects_has_no_project_filter() -> None:
    filters = to_trigger(sub(project_id="*"))["spec"]["filters"]
    assert all("projectid" not in json.dumps(f) for f in filters)


def test_types_and_lease_become_exact_filters() -> None:
    filters = to_trigger(sub(types=["lease.create", "lease.delete"], lease_id="L"))["spec"][
        "filters"
    ]
    assert {
        "any": [
            {"exact": {"type": "org.openstack.blazar.lease.create"}},
            {"exact": {"type": "org.openstack.blazar.lease.delete"}},
        ]
    } in filters
    assert {"exact": {"leaseid": "L"}} in filters


def test_subscriber_is_the_function_with_the_id_in_the_path() -> None:
    s = sub()
    trigger = to_trigger(s, function_url="http://fn.ns.svc/", broker="b", namespace="ns")
    assert trigger["spec"]["subscriber"] == {"uri": f"http://fn.ns.svc/subscriptions/{s.id}"}
    assert trigger["spec"]["broker"] == "b" and trigger["metadata"]["namespace"] == "ns"


def test_delivery_is_knatives() -> None:
    trigger = to_trigger(EXAMPLES[3])
    assert trigger["spec"]["delivery"] == {
        "retry": 3,
        "backoffPolicy": "exponential",
        "backoffDelay": "PT0.5S",
        "timeout": "PT12S",  # the subscription's PT10S and the margin: see the next test
        "deadLetterSink": {
            "uri": f"{triggers_function()}/subscriptions/{EXAMPLES[3].id}/deadletter"
        },
    }
    assert trigger["metadata"]["annotations"] == {
        "kafka.eventing.knative.dev/delivery.order": "ordered"
    }


@pytest.mark.parametrize(
    ("timeout", "rendered"), [("PT10S", "PT12S"), ("PT0.5S", "PT2.5S"), ("PT1H", "PT3602S")]
)
def test_knative_waits_longer_than_the_function_waits_for_the_sink(
    timeout: str, rendered: str
) -> None:
    # Otherwise Knative calls again while the first call may still get the sink's 2xx.
    s = sub(delivery={"timeout": timeout})
    spec = to_trigger(s)["spec"]["delivery"]
    assert spec["timeout"] == rendered
    assert from_iso_duration(rendered) == s.delivery.timeout_seconds + TRIGGER_TIMEOUT_MARGIN


def triggers_function() -> str:
    return "http://blazar-events-function.blazar-events.svc.cluster.local"


KEY = b"k" * 32


def test_dead_letters_go_through_the_function_never_straight_to_the_tenant() -> None:
    s = sub(delivery={"deadLetterSink": "http://dlq.internal.example:8080/x", "retry": 1})
    trigger = to_trigger(s, function_url="http://fn.ns.svc", token_key=KEY)
    uri = trigger["spec"]["delivery"]["deadLetterSink"]["uri"]
    assert uri.startswith(f"http://fn.ns.svc/subscriptions/{s.id}/deadletter?token=")
    # Knative's dispatcher would POST to whatever URI the Trigger names, unguarded.
    assert "dlq.internal.example" not in json.dumps(trigger)


def test_without_a_dead_letter_sink_the_trigger_names_none() -> None:
    assert "deadLetterSink" not in to_trigger(sub(), token_key=KEY)["spec"]["delivery"]


def test_each_route_of_each_subscription_carries_its_own_token() -> None:
    a, b = sub(delivery={"deadLetterSink": "https://dlq.example.org/"}), sub()
    spec = to_trigger(a, function_url="http://fn", token_key=KEY)["spec"]
    deliver = spec["subscriber"]["uri"]
    dead = spec["delivery"]["deadLetterSink"]["uri"]
    assert deliver == f"http://fn/subscriptions/{a.id}?token={to_token(KEY, a.id, DELIVER_ROUTE)}"
    assert dead.endswith(f"?token={to_token(KEY, a.id, DEAD_LETTER_ROUTE)}")
    tokens = {
        to_token(KEY, a.id, DELIVER_ROUTE),
        to_token(KEY, a.id, DEAD_LETTER_ROUTE),
        to_token(KEY, b.id, DELIVER_ROUTE),
        to_token(b"other key" * 4, a.id, DELIVER_ROUTE),
    }
    assert len(tokens) == 4


def test_a_token_is_valid_only_for_its_key_subscription_and_route() -> None:
    token = to_token(KEY, "sub-1", DELIVER_ROUTE)
    assert is_valid_token(KEY, "sub-1", DELIVER_ROUTE, token)
    assert not is_valid_token(KEY, "sub-2", DELIVER_ROUTE, token)
    assert not is_valid_token(KEY, "sub-1", DEAD_LETTER_ROUTE, token)
    assert not is_valid_token(b"x" * 32, "sub-1", DELIVER_ROUTE, token)
    for bad in (None, "", token[:-1], token.upper(), "é" * 64, token + "0"):
        assert not is_valid_token(KEY, "sub-1", DELIVER_ROUTE, bad)


def test_a_trigger_rendered_without_the_key_carries_no_token() -> None:
    """The API shows Triggers without the operator's key; the operator adds the tokens."""
    s = sub()
    assert "token" not in json.dumps(to_trigger(s))


def from_knative_filter(expression: dict[str, Any]) -> dict[str, Any]:
    """A Trigger filter back in the Subscriptions API's spelling, for our own evaluator."""
    ((dialect, value),) = expression.items()
    if dialect == "cesql":
        return {"sql": value}
    if dialect in ("all", "any"):
        return {dialect: [from_knative_filter(item) for item in value]}
    if dialect == "not":
        return {"not": from_knative_filter(value)}
    return {dialect: value}


def trigger_passes(subscription: Subscription, attributes: dict[str, str]) -> bool:
    filters = [from_knative_filter(f) for f in to_trigger(subscription)["spec"]["filters"]]
    return from_list(filters)(attributes)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(EXAMPLES),
    st.one_of(st.none(), st.sampled_from(["own", "other", ""]), st.text(max_size=40)),
    st.sampled_from(["project-a", "project-b"]),
    st.sampled_from(["org.openstack.blazar.lease.create", "org.openstack.blazar.lease.reminder"]),
)
def test_an_addressed_event_passes_only_its_own_subscriptions_trigger(
    subscription: Subscription, address: str | None, project: str, event_type: str
) -> None:
    attributes = {"type": event_type, "projectid": project, "leaseid": "lease-1", "id": "e-1"}
    if address == "own":
        address = subscription.id
    elif address == "other":
        address = EXAMPLES[0].id if subscription is not EXAMPLES[0] else EXAMPLES[1].id
    if address is not None:
        attributes["subscriptionid"] = address
    # The Trigger (as Knative's CESQL reads it, which our evaluator follows) and the broker's
    # matcher agree, and neither lets another subscription's addressed event through.
    verdict = compile_subscription(subscription)(attributes)
    assert trigger_passes(subscription, attributes) == verdict
    if address is not None and address != subscription.id:
        assert not verdict


def test_an_addressed_event_still_obeys_the_tenant_rule() -> None:
    member = sub(project_id="project-a")
    foreign = {"type": "org.openstack.blazar.lease.reminder", "projectid": "project-b",
               "subscriptionid": member.id}  # fmt: skip
    assert not compile_subscription(member)(foreign)
    assert not trigger_passes(member, foreign)
    assert compile_subscription(member)({**foreign, "projectid": "project-a"})
