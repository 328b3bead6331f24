"""The test event (broker/replay.py): what a tenant's endpoint receives when they ask for
one. Reading a time range back from Kafka is driven end to end in test_assembly.py (replay
requests against the real topic)."""

from __future__ import annotations

from blazar_events.records import from_record, to_record
from blazar_events.subscription import Subscription
from broker.replay import TEST_TYPE, to_test_event


def test_the_test_event_names_its_subscription_and_project_and_survives_a_record() -> None:
    sub = Subscription(project_id="p1", sink="https://hooks.example.org/")
    event = to_test_event(sub, "/openstack/blazar/")
    attributes = event.get_attributes()
    assert attributes["type"] == TEST_TYPE
    assert attributes["source"] == "/openstack/blazar/blazar-events"
    assert (attributes["subject"], attributes["projectid"]) == (sub.id, "p1")
    assert event.get_data()["subscription_id"] == sub.id  # type: ignore[index]
    record = to_record(event)
    again = from_record(record.key, record.value, list(record.headers))
    assert again.get_id() == event.get_id()


def test_each_test_event_has_an_id_of_its_own() -> None:
    sub = Subscription(project_id="*", sink="https://hooks.example.org/")
    assert to_test_event(sub).get_id() != to_test_event(sub).get_id()
    assert to_test_event(sub).get_attributes()["projectid"] == "*"
