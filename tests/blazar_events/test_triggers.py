import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from blazar_events.subscription import Subscription, from_input
from blazar_events.triggers import to_trigger

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
    trigger = to_trigger(subscription)
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
        "timeout": "PT10S",
        "deadLetterSink": {"uri": "https://dlq.example.org/"},
    }
    assert trigger["metadata"]["annotations"] == {
        "kafka.eventing.knative.dev/delivery.order": "ordered"
    }
