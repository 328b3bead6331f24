"""Knative mode's snapshots on real Kafka and Redis: the operator's writer turns a snapshot
request into addressed records on the events topic, for the subscription's leases only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cloudevents.core.base import BaseCloudEvent
from confluent_kafka import Consumer, TopicPartition

from blazar_events import events, records
from blazar_events.kafkaproducer import new_producer, produce_all
from blazar_events.leasestate import to_state_record
from blazar_events.records import KafkaRecord, from_record
from blazar_events.settings import KafkaSettings
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription
from k8s.operator.snapshots import SnapshotWriter
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
def kafka(kafka_bootstrap: str, kafka_topic: str) -> KafkaSettings:
    """The events topic is the test's fresh one; the state topic as the bridge fills it."""
    settings = KafkaSettings.load(
        bootstrap_servers=[kafka_bootstrap], topic=kafka_topic, state_topic=unique_name("leases")
    )
    written = [
        lease_record("v2-lease.event.start_lease.json"),
        lease_record("v2-other-project-lease.event.start_lease.json"),
        lease_record("v2-lease.create.json", "lease-deleted"),
        lease_record("v2-lease.delete.json", "lease-deleted"),
        KafkaRecord(key=b"junk", value=b"not a cloudevent", headers=()),  # anyone may write
    ]
    producer = new_producer({**settings.librdkafka_config(), "acks": "all"})
    produce_all(producer, settings.state_topic, written, 30)
    return settings


def on_topic(settings: KafkaSettings) -> list[BaseCloudEvent]:
    """Everything on the events topic now (up to its end offsets)."""
    consumer = Consumer({**settings.librdkafka_config(), "group.id": unique_name("on-topic")})
    found: list[BaseCloudEvent] = []
    try:
        metadata = consumer.list_topics(settings.topic, timeout=30)
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(settings.topic, p), timeout=30)[1]
            for p in metadata.topics[settings.topic].partitions
        }
        consumer.assign([TopicPartition(settings.topic, p, 0) for p in ends])
        positions = dict.fromkeys(ends, 0)
        while any(positions[p] < ends[p] for p in ends):
            for message in consumer.consume(500, 1.0):
                if message.error() is not None:
                    continue
                positions[message.partition()] = message.offset() + 1
                headers = [(n, v or b"") for n, v in message.headers() or []]
                found.append(from_record(message.key(), message.value(), headers))
    finally:
        consumer.close()
    return found


def subscribe(store: SubscriptionStore, project_id: str) -> str:
    sub = Subscription(project_id=project_id, sink="http://10.0.0.1/", types=["x.y"])
    store.create(sub, SigningKeys.generate())
    return sub.id


def test_a_snapshot_request_writes_addressed_records_of_the_projects_live_leases_only(
    store: SubscriptionStore, kafka: KafkaSettings
) -> None:
    mine, everyone = subscribe(store, MINE), subscribe(store, "*")
    store.request_replay(mine, since=datetime.now(UTC))
    store.request_snapshot(mine)
    writer = SnapshotWriter(store, kafka, "/openstack/blazar")

    assert writer.follow_once() == 1
    [event] = on_topic(kafka)
    assert event.get_extension("subscriptionid") == mine
    assert event.get_extension("leaseid") == START["payload"]["lease_id"]
    assert writer.follow_once() == 0  # taken once; the replay is not the operator's

    store.request_snapshot(everyone)
    assert writer.follow_once() == 2
    addressed = [e for e in on_topic(kafka) if e.get_extension("subscriptionid") == everyone]
    assert {e.get_extension("leaseid") for e in addressed} == {
        START["payload"]["lease_id"],
        OTHER["payload"]["lease_id"],
    }
