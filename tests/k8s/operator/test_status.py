"""The EventSubscription status as `kubectl get -o yaml` shows it (pure; checked against our
CRD's schema)."""

from __future__ import annotations

from typing import Any

from k8s.operator.status import FALSE, TRUE, UNKNOWN, Condition, Outcome, to_status
from tests.k8s.validation import object_errors


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


def resource(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "events.blazar.openstack.org/v1alpha1",
        "kind": "EventSubscription",
        "metadata": {"name": "hook", "namespace": "team-a"},
        "spec": {"sink": "https://hooks.example.org/"},
        "status": status,
    }


def stored_and_waiting() -> Outcome:
    outcome = Outcome(3, subscription_id="s-1", sink_uri="https://hooks.example.org/")
    outcome.conditions += [
        Condition("Stored", TRUE, "Stored"),
        Condition("TriggerReady", UNKNOWN, "TriggerPending", "Knative has not answered"),
    ]
    return outcome


def test_ready_is_the_first_condition_that_is_not_true_and_the_schema_accepts_it() -> None:
    status = to_status(stored_and_waiting())
    assert [c["type"] for c in status["conditions"]] == ["Ready", "Stored", "TriggerReady"]
    assert conditions(status)["Ready"] == (UNKNOWN, "TriggerPending")
    assert status["conditions"][0]["message"] == "Knative has not answered"
    assert (status["observedGeneration"], status["subscriptionId"]) == (3, "s-1")
    assert "triggerName" not in status and "secretName" not in status
    assert object_errors(resource(status)) == []


def test_all_true_is_ready_and_a_failure_wins() -> None:
    outcome = Outcome(1, [Condition("Stored", TRUE, "Stored")], trigger_name="t", secret_name="s")
    assert outcome.ready
    status = to_status(outcome)
    assert conditions(status)["Ready"] == (TRUE, "Ready")
    assert (status["triggerName"], status["secretName"]) == ("t", "s")
    failed = to_status(Outcome(1).failed("SinkRefused", "10.0.0.1 is an internal address"))
    assert conditions(failed) == {"Ready": (FALSE, "SinkRefused")}
    assert not Outcome(1).ready  # nothing found yet is not ready
    assert object_errors(resource(failed)) == []


def test_a_condition_keeps_its_transition_time_while_its_status_holds() -> None:
    previous = to_status(stored_and_waiting())
    for condition in previous["conditions"]:
        condition["lastTransitionTime"] = "2020-01-01T00:00:00Z"
    again = to_status(stored_and_waiting(), previous)
    assert {c["lastTransitionTime"] for c in again["conditions"]} == {"2020-01-01T00:00:00Z"}
    moved = stored_and_waiting()
    moved.conditions[1] = Condition("TriggerReady", TRUE, "TriggerReady")
    times = {c["type"]: c["lastTransitionTime"] for c in to_status(moved, previous)["conditions"]}
    assert times["Stored"] == "2020-01-01T00:00:00Z"
    assert times["TriggerReady"] != "2020-01-01T00:00:00Z"
    assert times["Ready"] != "2020-01-01T00:00:00Z"  # Unknown -> True
