"""A dead letter in Knative mode (functions/deadletters.py): the event as the standalone
broker would write it, addressed to the tenant's own sinks, never the function's URI."""

from __future__ import annotations

from cloudevents.core.v1.event import CloudEvent

from blazar_events.subscription import Subscription
from functions.deadletters import to_dead_letter, to_target


def event() -> CloudEvent:
    return CloudEvent(
        {
            "specversion": "1.0",
            "id": "e-1",
            "source": "/openstack/blazar/blazar.lease",
            "type": "org.openstack.blazar.lease.event.start_lease",
            "knativeerrordest": "http://fn.example/subscriptions/s/deliver?token=secret",
            "knativeerrorcode": "503",
        },
        {"lease_id": "l-1"},
    )


def test_the_letter_keeps_knatives_error_and_names_the_tenants_sink_not_the_function() -> None:
    sub = Subscription(project_id="p1", sink="https://hooks.example.org/")
    letter = to_dead_letter(event(), sub)
    attributes = letter.get_attributes()
    assert attributes["knativeerrordest"] == "https://hooks.example.org/"  # no token in it
    assert attributes["knativeerrorcode"] == "503"
    assert attributes["subscriptionid"] == sub.id
    assert letter.get_data() == {"lease_id": "l-1"}
    assert attributes["id"] == "e-1"


def test_the_letter_goes_to_the_dead_letter_sink_with_the_subscriptions_timeout() -> None:
    sub = Subscription(
        project_id="p1",
        sink="https://hooks.example.org/",
        delivery={"deadLetterSink": "https://dlq.example.org/", "timeout": "PT7S"},
    )
    target = to_target(sub)
    assert target is not None
    assert (target.sink, target.timeout, target.subscription_id) == (
        "https://dlq.example.org/",
        7.0,
        sub.id,
    )


def test_without_a_dead_letter_sink_there_is_nowhere_to_send() -> None:
    assert to_target(Subscription(project_id="p1", sink="https://hooks.example.org/")) is None
