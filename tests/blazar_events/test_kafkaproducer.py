"""Producing through blazar_events/kafkaproducer.py against the stack's real Kafka: every
record confirmed or an error that says why, never a silent drop or an unbounded wait."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from blazar_events.kafkaproducer import (
    discard,
    error_name,
    is_fatal,
    is_refused,
    kafka_failure,
    new_producer,
    produce_all,
)
from blazar_events.records import KafkaRecord


def read_back(bootstrap: str, topic: str, count: int) -> list[tuple[bytes | None, bytes | None]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "kafkaproducer-test"})
    consumer.assign([TopicPartition(topic, 0, 0)])
    found: list[tuple[bytes | None, bytes | None]] = []
    deadline = time.monotonic() + 30  # a bound on a hang, not a performance figure
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append((message.key(), message.value()))
    finally:
        consumer.close()
    return found


def test_every_record_is_written_in_order_tombstones_included(
    kafka_bootstrap: str, kafka_topic: str
) -> None:
    producer = new_producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    records = [KafkaRecord(b"lease-1", f"v{i}".encode(), ()) for i in range(50)]
    records.append(KafkaRecord(b"lease-1", b"", (), tombstone=True))
    produce_all(producer, kafka_topic, records, timeout=30)
    written = read_back(kafka_bootstrap, kafka_topic, 51)
    assert written[:50] == [(b"lease-1", f"v{i}".encode()) for i in range(50)]
    assert written[50] == (b"lease-1", None)


def test_a_record_larger_than_kafka_takes_is_refused_by_name(
    kafka_bootstrap: str, kafka_topic: str
) -> None:
    producer = new_producer({"bootstrap.servers": kafka_bootstrap, "message.max.bytes": 10_000})
    with pytest.raises(KafkaException) as raised:
        produce_all(producer, kafka_topic, [KafkaRecord(b"k", b"x" * 20_000, ())], timeout=30)
    assert is_refused(raised.value)
    assert error_name(raised.value) == "MSG_SIZE_TOO_LARGE"


def test_no_kafka_is_an_error_within_the_timeout_and_discard_answers_every_record() -> None:
    # Nothing listens on port 1: the records can only time out; the wait stays bounded.
    producer = new_producer(
        {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 60_000, "log_level": 0}
    )  # its refused connections are expected here: not on the test run's stderr
    started = time.monotonic()
    with pytest.raises(KafkaException) as raised:
        produce_all(producer, "nowhere", [KafkaRecord(b"k", b"v", ())], timeout=1)
    assert not is_refused(raised.value)
    assert time.monotonic() - started < 30  # bounded by produce_all's timeout, not librdkafka's
    assert discard(producer, 0.1) == 1
    assert len(producer) == 0  # purged: nothing left waiting on a client about to go


def test_errors_are_classified_without_a_kafka() -> None:
    assert is_refused(kafka_failure(KafkaError.MSG_SIZE_TOO_LARGE, "big"))
    assert not is_refused(kafka_failure(KafkaError._TIMED_OUT, "slow"))
    assert not is_refused(ValueError("not a client error"))
    assert not is_fatal(kafka_failure(KafkaError._TIMED_OUT, "slow"))
    assert error_name(ValueError("x")) == "ValueError"
