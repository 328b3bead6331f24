"""The Triggers the core renders, judged by Knative Eventing's own webhook on a real API server."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from blazar_events.subscription import Subscription, SubscriptionInput
from blazar_events.triggers import to_trigger
from tests.k8s.kube import Kube
from tests.k8s.test_triggers import BODIES

pytestmark = pytest.mark.kube


@pytest.fixture(scope="module")
def namespace(knative: Kube) -> str:
    return knative.namespace("triggers")


def _trigger(body: dict[str, Any], namespace: str, project_id: str = "p1") -> dict[str, Any]:
    sub = Subscription.from_input(
        SubscriptionInput.model_validate(body), project_id=project_id, owner="k8s"
    )
    return to_trigger(sub, namespace=namespace)


@pytest.mark.parametrize("case", sorted(BODIES))
def test_knative_accepts_the_rendered_trigger(knative: Kube, namespace: str, case: str) -> None:
    kube = knative
    trigger = _trigger(BODIES[case], namespace)
    result = kube.apply(trigger)
    assert result.ok, result.err
    stored = kube.get("trigger.eventing.knative.dev", trigger["metadata"]["name"], namespace)
    assert stored is not None
    assert stored["spec"]["filters"] == trigger["spec"]["filters"]
    assert stored["spec"]["subscriber"]["uri"] == trigger["spec"]["subscriber"]["uri"]


def test_knative_accepts_an_all_projects_trigger(knative: Kube, namespace: str) -> None:
    result = knative.apply(_trigger(BODIES["minimal"], namespace, project_id="*"))
    assert result.ok, result.err


BROKEN: dict[str, tuple[str, Any, str]] = {
    # case: (spec field, value (None removes it), what Knative's refusal says)
    "no subscriber": (
        "subscriber",
        None,
        "expected at least one, got none: spec.subscriber.ref, spec.subscriber.uri",
    ),
    "no broker": ("broker", None, "missing field(s): spec.broker"),
    "two dialects in one filter": (
        "filters",
        [{"exact": {"type": "a"}, "prefix": {"type": "b"}}],
        "multiple dialects found, filters can have only one dialect set",
    ),
    "an unknown delivery backoff policy": (
        "delivery",
        {"retry": 1, "backoffPolicy": "random"},
        "backoffPolicy",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_knative_refuses_a_broken_trigger(knative: Kube, namespace: str, case: str) -> None:
    kube = knative
    field, value, expected = BROKEN[case]
    trigger = copy.deepcopy(_trigger(BODIES["minimal"], namespace))
    trigger["metadata"]["name"] = f"broken-{abs(hash(case)) % 10**8}"
    if value is None:
        del trigger["spec"][field]
    else:
        trigger["spec"][field] = value
    result = kube.apply(trigger)
    assert not result.ok, f"{case}: accepted"
    assert expected in result.err
    assert 'admission webhook "validation.webhook.eventing.knative.dev" denied' in result.err
    assert kube.get("trigger.eventing.knative.dev", trigger["metadata"]["name"], namespace) is None
