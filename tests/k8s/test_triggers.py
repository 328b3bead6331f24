"""The Trigger the core renders (the API shows it, the operator applies it) is valid Knative."""

from __future__ import annotations

from typing import Any

import pytest

from blazar_events.subscription import Subscription, SubscriptionInput
from blazar_events.triggers import to_trigger
from tests.k8s.validation import object_errors

BODIES: dict[str, dict[str, Any]] = {
    "minimal": {"sink": "https://hooks.example.org/"},
    "types, lease and every dialect": {
        "types": ["lease.event.start_lease", "lease.event.end_lease"],
        "lease_id": "7f3c1a52-2d8e-4c1b-9a4e-0b6f1e2d3c4a",
        "filters": [
            {"prefix": {"type": "org.openstack.blazar.lease."}},
            {"any": [{"exact": {"leasestatus": "ACTIVE"}}, {"suffix": {"subject": "4a"}}]},
            {"not": {"exact": {"leasestatus": "ERROR"}}},
            {"all": [{"exact": {"leaseid": "x"}}]},
        ],
        "sink": "https://hooks.example.org/",
    },
    "ordered with a dead-letter sink": {
        "sink": "https://hooks.example.org/",
        "delivery": {
            "retry": 3,
            "backoffPolicy": "linear",
            "backoffDelay": "PT2S",
            "deadLetterSink": "https://dlq.example.org/",
            "ordered": True,
        },
    },
}


@pytest.mark.parametrize("case", sorted(BODIES))
def test_rendered_trigger_is_valid(case: str) -> None:
    sub = Subscription.from_input(
        SubscriptionInput.model_validate(BODIES[case]), project_id="p1", owner="k8s"
    )
    trigger = to_trigger(sub)
    assert object_errors(trigger) == []


def test_an_all_projects_trigger_is_valid() -> None:
    sub = Subscription.from_input(
        SubscriptionInput.model_validate(BODIES["minimal"]), project_id="*"
    )
    assert object_errors(to_trigger(sub)) == []
