"""Snapshot requests in the standalone broker, on the real Kafka state topic: one event per
live lease the subscription sees; deleted leases and junk on the topic are skipped."""

from __future__ import annotations

from typing import Any

import pytest
from cloudevents.core.base import BaseCloudEvent
from confluent_kafka import Producer

from blazar_events import events, records
from blazar_events.errors import FilterError
from blazar_events.leasestate import to_state_record
from blazar_events.records import KafkaRecord
from blazar_events.settings import KafkaSettings
from blazar_events.subscription import Subscription
from broker.snapshot import send
from tests.bridge.conftest import fixture_message
from tests.conftest import unique_name

START = fixture_message("v2-lease.event.start_lease.json")
OTHER = fixture_message("v2-other-project-lease.event.start_lease.json")
MINE = START["payload"]["project_id"]


def lease_record(fixture: str, lease_id: str | None = None) -> KafkaRecord:
    message = fixture_message(fixture)
    if lease_id is not None:
        message["payload"]["lease_id"] = lease_id
    event = events.to_cloudevent(message)
    assert event is not None
    return to_state_record(records.to_record(event))


@pytest.fixture
def kafka(kafka_bootstrap: str) -> KafkaSettings:
    """A state topic of the test's own, as the bridge fills it, with junk anyone may write."""
    settings = KafkaSettings.load(
        bootstrap_servers=[kafka_bootstrap], state_topic=unique_name("leases")
    )
    producer = Producer({**settings.librdkafka_config(), "acks": "all"})
    written = [
        lease_record("v2-lease.event.start_lease.json"),
        lease_record("v2-other-project-lease.event.start_lease.json"),
        lease_record("v2-lease.create.json", "lease-deleted"),
        lease_record("v2-lease.delete.json", "lease-deleted"),
        KafkaRecord(key=b"junk", value=b"not a cloudevent", headers=()),
    ]
    for record in written:
        value = None if record.tombstone else record.value
        producer.produce(
            settings.state_topic, key=record.key, value=value, headers=list(record.headers)
        )
    assert producer.flush(60) == 0
    return settings


def snapshot(kafka: KafkaSettings, sub: Subscription) -> tuple[list[Any], list[Any]]:
    handed: list[BaseCloudEvent] = []
    failed: list[tuple[BaseCloudEvent, FilterError]] = []

    def hand(event: BaseCloudEvent) -> bool:
        handed.append(event)
        return True

    count = send(kafka, sub, "/openstack/blazar", hand, lambda e, err: failed.append((e, err)))
    assert count == len(handed)
    return handed, failed


def test_a_projects_live_leases_only_addressed_to_the_subscription(kafka: KafkaSettings) -> None:
    sub = Subscription(project_id=MINE, sink="http://10.0.0.1/", types=["x.y"])
    handed, failed = snapshot(kafka, sub)
    assert [e.get_extension("leaseid") for e in handed] == [START["payload"]["lease_id"]]
    assert handed[0].get_extension("subscriptionid") == sub.id and failed == []


def test_the_all_projects_subscription_sees_every_live_lease(kafka: KafkaSettings) -> None:
    sub = Subscription(project_id="*", sink="http://10.0.0.1/")
    handed, _ = snapshot(kafka, sub)
    leases = {e.get_extension("leaseid") for e in handed}
    assert leases == {START["payload"]["lease_id"], OTHER["payload"]["lease_id"]}


def test_a_stopping_broker_ends_the_request(kafka: KafkaSettings) -> None:
    sub = Subscription(project_id="*", sink="http://10.0.0.1/")
    handed: list[BaseCloudEvent] = []
    count = send(kafka, sub, "/openstack/blazar", lambda e: handed.append(e) is None,
                 lambda e, err: None, stop=lambda: True)  # fmt: skip
    assert (count, handed) == (0, [])
