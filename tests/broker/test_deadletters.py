"""Dead letters Kafka refuses: the broker's dead-letter topic on real Kafka."""

from __future__ import annotations

import time
from collections.abc import Callable

from cloudevents.core.v1.event import CloudEvent

from blazar_events.kafkaproducer import new_producer, produce_all
from blazar_events.records import to_record
from blazar_events.settings import KafkaSettings
from blazar_events.store import SubscriptionStore
from stack.sink import Sink
from tests.broker.conftest import RunningBroker, read_topic
from tests.delivery.conftest import from_fixture, to_subscription

START = "v2-lease.event.start_lease.json"
# Kafka's default limit on a record: the producer's max.request.size (and near the topic's).
LIMIT = 1_048_576


def test_a_dead_letter_too_large_for_kafka_is_written_without_its_data(
    start_broker: Callable[..., RunningBroker],
    store: SubscriptionStore,
    sink: Sink,
    kafka_settings: KafkaSettings,
) -> None:
    """An event that fits in a record, plus the error extensions, no longer fits: Kafka
    refuses its dead letter whatever the number of tries. Retried as if Kafka were down, it
    held its record (and every later one of the partition) uncommitted for good."""
    sub_id, _ = to_subscription(store, sink.url("x" * 1500), project_id="*")
    sink.answer_always("x" * 1500, 403)
    broker = start_broker()
    fixture = from_fixture(START)
    big = CloudEvent({**fixture.get_attributes(), "id": "big"}, {"pad": ""})
    record = to_record(big)
    room = LIMIT - 200 - len(record.value) - sum(len(k) + len(v) for k, v in record.headers)
    big = CloudEvent({**fixture.get_attributes(), "id": "big"}, {"pad": "x" * room})
    after = CloudEvent({**fixture.get_attributes(), "id": "after"}, fixture.get_data())
    producer = new_producer(
        {**kafka_settings.librdkafka_config(), "acks": "all", "message.max.bytes": LIMIT}
    )
    produce_all(producer, kafka_settings.topic, [to_record(big), to_record(after)], 30)

    letters = read_topic(kafka_settings.bootstrap_servers, kafka_settings.dlq_topic, 2, 60)

    by_id = {letter.get_id(): letter for letter in letters}
    assert set(by_id) == {"big", "after"}
    assert by_id["big"].get_data() is None
    assert "data omitted" in str(by_id["big"].get_extension("knativeerrordata"))
    assert by_id["big"].get_extension("subscriptionid") == sub_id
    assert by_id["after"].get_data() == fixture.get_data()
    deadline = time.monotonic() + 30
    while broker.assembly.tracker.in_progress and time.monotonic() < deadline:
        time.sleep(0.1)
    assert broker.assembly.tracker.in_progress == 0
