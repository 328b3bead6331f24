"""The broker's Kafka consumer on real Kafka: what it hands on, commits and holds back."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from blazar_events.settings import KafkaSettings
from broker.consumer import KafkaSource, Record
from broker.offsets import OffsetTracker, Settle
from broker.settings import BrokerSettings
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
    run.wait_for(6)  # three more: the bound is on every record handed on and not settled
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


@pytest.fixture
def event_loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()


def test_records_handed_to_a_busy_event_loop_stay_within_the_pending_bound(
    kafka_bootstrap: str, kafka_topic: str, event_loop_thread: asyncio.AbstractEventLoop
) -> None:
    """A catch-up: a backlog, an event loop busy elsewhere, a router that does not settle.
    The records handed to the loop, routed or not yet, never exceed max_pending_records
    (librdkafka's prefetch stays in the consumer, not on the loop)."""
    backlog, bound = 1000, 50
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 20})
    for n in range(backlog):
        producer.produce(kafka_topic, b"backlog-%d" % n)
    assert producer.flush(30) == 0
    loop = event_loop_thread
    kafka = KafkaSettings.load(bootstrap_servers=[kafka_bootstrap], topic=kafka_topic)
    settings = BrokerSettings.load(
        group_id=unique_name("consumer"), commit_interval=0.1, max_pending_records=bound
    )
    tracker = OffsetTracker()
    handed: list[Record] = []
    settles: list[Settle] = []

    def route(records: list[Record]) -> None:
        for record in records:
            slot = tracker.start(
                record.topic, record.partition, record.offset, 1, generation=record.generation
            )
            if slot is not None:
                settles.append(tracker.settle(slot))
        source.routed(len(records))

    def deliver(records: list[Record]) -> None:
        handed.extend(records)
        loop.call_soon_threadsafe(route, records)

    busy = threading.Event()
    loop.call_soon_threadsafe(busy.wait, 60)  # the loop is busy until the test says
    source = KafkaSource(kafka, settings, tracker, deliver)
    thread = threading.Thread(target=source.consume, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not handed:
            assert time.monotonic() < deadline and source.error is None, source.error
            time.sleep(0.05)
        time.sleep(2.0)  # twenty polls and more: the backlog is fetched meanwhile
        assert len(handed) <= bound, "handed to a loop that routed none of them"
        busy.set()
        time.sleep(1.0)  # routed now, none settled: still held
        assert len(handed) <= bound

        done = 0
        deadline = time.monotonic() + 120
        while done < backlog:  # settle what was routed: the rest of the backlog comes
            assert time.monotonic() < deadline, f"{done} of {backlog} records"
            for settle in list(settles)[done:]:  # (a copy: the loop appends meanwhile)
                settle()
                done += 1
            assert len(handed) - done <= bound
            time.sleep(0.01)
        assert [r.value for r in handed] == [b"backlog-%d" % n for n in range(backlog)]
    finally:
        busy.set()
        source.close(30)
        thread.join(30)
