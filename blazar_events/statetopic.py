"""The lease state topic, read for a snapshot request — the one reader both modes share.

The state topic (``[kafka] state_topic``, compacted, written by the bridge) holds each
lease's newest event, and until Kafka compacts it, older ones and tombstones too. Each
partition is read up to the end offset it had when the request started, twice: first the
keys and offsets only (:class:`~blazar_events.leasestate.LatestOffsets`: one small entry
per live lease of the partition), then the records again, keeping each lease's newest. So
memory stays one entry per live lease of one partition, never the records, and a request
never waits on states written after it began. (Kafka I/O in the core, like the stack's
topic set-up: the standalone broker and the Knative-mode operator both call it.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import cast

from cloudevents.core.base import BaseCloudEvent
from confluent_kafka import Consumer, Message, TopicPartition

from blazar_events.leasestate import LatestOffsets
from blazar_events.records import from_record
from blazar_events.settings import KafkaSettings

log = logging.getLogger(__name__)

POLL_RECORDS = 500  # records per poll: what one request holds of the topic at a time
FETCH_WAIT_MS = 10
TIMEOUT = 30.0  # seconds a metadata or offsets request may take


def from_state_topic(
    kafka: KafkaSettings, stop: Callable[[], bool] = lambda: False
) -> Iterator[BaseCloudEvent]:
    """The newest state of every live lease on the state topic, partition by partition."""
    consumer = Consumer(
        {
            **kafka.librdkafka_config(),
            # Partitions are assigned by hand and nothing is committed: the group is never
            # joined, librdkafka only wants a name.
            "group.id": "blazar-events-state-reader",
            "enable.auto.commit": False,
            # Each pass ends at the partition's end: a fetch there waits this long for
            # records that will not come (default 500 ms, paid twice per partition).
            "fetch.wait.max.ms": FETCH_WAIT_MS,
        }
    )
    try:
        topic = kafka.state_topic
        partitions = partitions_of(consumer, topic)
        if not partitions:
            log.warning("the lease state topic %s is missing: no snapshot to send", topic)
            return
        for tp in partitions:
            start, end = consumer.get_watermark_offsets(tp, TIMEOUT)
            if start >= end:
                continue
            latest = LatestOffsets()
            for record in records_between(consumer, tp, start, end, stop):
                latest.note(record.key(), offset_of(record), deleted=record.value() is None)
            for record in records_between(consumer, tp, start, end, stop):
                if not latest.is_latest(record.key(), offset_of(record)):
                    continue
                try:
                    yield from_record(record.key(), record.value() or b"", headers_of(record))
                except Exception as exc:  # anyone who can write the topic wrote this
                    log.warning("snapshot skips offset %d of %s: %s", offset_of(record), tp, exc)
    finally:
        consumer.close()


def partitions_of(consumer: Consumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions; none if it does not exist."""
    metadata = consumer.list_topics(topic, TIMEOUT).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return []
    return [TopicPartition(topic, p) for p in sorted(metadata.partitions)]


def offset_of(record: Message) -> int:
    return record.offset() or 0


def headers_of(record: Message) -> list[tuple[str, bytes]]:
    """A record's headers; a consumer's are always a list of (name, bytes or None) pairs
    (the stub's type also covers what a producer accepts). A null value reads as empty."""
    pairs = cast(list[tuple[str, bytes | None]], record.headers() or [])
    return [(name, value or b"") for name, value in pairs]


def records_between(
    consumer: Consumer, tp: TopicPartition, start: int, end: int, stop: Callable[[], bool]
) -> Iterator[Message]:
    """The records of ``tp`` in [start, end) (a compacted topic has gaps in its offsets)."""
    consumer.assign([TopicPartition(tp.topic, tp.partition, start)])
    while not stop():
        for record in consumer.consume(POLL_RECORDS, 0.5):
            if record.error() is not None:
                log.warning("reading %s: %s", tp, record.error())
                continue
            if offset_of(record) >= end:
                return
            yield record
        [position] = consumer.position([tp])
        if position.offset >= end:
            return
