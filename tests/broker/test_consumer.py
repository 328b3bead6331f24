"""The broker's Kafka consumer on real Kafka: what it hands on, commits and holds back."""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker.conftest import RunningSource, committed, send
from tests.conftest import unique_name


def test_records_are_handed_on_whole_and_only_settled_ones_committed(
    kafka_bootstrap: str, kafka_topic: str, running: Callable[..., RunningSource]
) -> None:
    run = running(kafka_topic)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for n in range(5):
        send(producer, kafka_topic, b"v%d" % n, b"k%d" % n, [("ce_id", b"%d" % n), ("nil", b"")])

    records = run.wait_for(5)
    assert [(r.offset, r.key, r.value) for r in records] == [
        (n, b"k%d" % n, b"v%d" % n) for n in range(5)
    ]
    assert records[2].topic == kafka_topic and records[2].partition == 0
    assert records[2].headers == [("ce_id", b"2"), ("nil", b"")]

    # Settled out of order: 0, 1 and 3. The commit stops at 2, the first still in progress.
    for n in (3, 0, 1):
        run.settles[n]()
    kafka = run.source.kafka
    assert committed(kafka, run.settings.group_id, 2) == 2
    time.sleep(0.5)  # several commit intervals: nothing beyond 2 may be committed
    assert committed(kafka, run.settings.group_id, 2, timeout=0) == 2
    run.settles[2]()
    assert committed(kafka, run.settings.group_id, 4) == 4
    run.settles[4]()
    assert committed(kafka, run.settings.group_id, 5) == 5


def test_consumption_pauses_while_too_many_records_are_in_progress(
    kafka_bootstrap: str, kafka_topic: str, running: Callable[..., RunningSource]
) -> None:
    run = running(kafka_topic, max_pending_records=3)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for n in range(3):
        send(producer, kafka_topic, b"first-%d" % n)
    run.wait_for(3)
    for n in range(4):
        send(producer, kafka_topic, b"held-%d" % n)
    time.sleep(2.0)  # twenty polls: none may hand on a held record
    assert len(run.records) == 3

    for settle in list(run.settles):
        settle()
    assert [r.value for r in run.wait_for(7)[3:]] == [b"held-%d" % n for n in range(4)]


def test_a_topic_created_after_the_consumer_started_is_read(
    kafka_bootstrap: str, running: Callable[..., RunningSource]
) -> None:
    """kafka-python's member that joined before its topic existed got no partition for
    minutes (the broker waited for the topic before joining); librdkafka finds it."""
    topic = unique_name("blazar.events.late")
    run = running(topic)
    time.sleep(1.0)  # the consumer has joined its group, and found no topic
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
    try:
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        for n in range(4):
            send(producer, topic, b"late-%d" % n, b"%d" % n)
        assert sorted(r.value for r in run.wait_for(4, timeout=90)) == [
            b"late-%d" % n for n in range(4)
        ]
    finally:
        run.source.close(30)
        admin.delete_topics([topic])[topic].result(30)
