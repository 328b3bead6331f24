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
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from blazar_events.leasestate import LatestOffsets
from blazar_events.records import from_record
from blazar_events.settings import KafkaSettings

log = logging.getLogger(__name__)

POLL_RECORDS = 500  # records per poll: what one request holds of the topic at a time
FETCH_WAIT_MS = 10


def from_state_topic(
    kafka: KafkaSettings, stop: Callable[[], bool] = lambda: False
) -> Iterator[BaseCloudEvent]:
    """The newest state of every live lease on the state topic, partition by partition."""
    consumer = KafkaConsumer(
        **kafka.client_options(),
        enable_auto_commit=False,
        group_id=None,
        max_poll_records=POLL_RECORDS,
        # Each pass ends at the partition's end: a fetch there waits this long for records
        # that will not come (default 500 ms, paid twice per partition per request).
        fetch_max_wait_ms=FETCH_WAIT_MS,
    )
    try:
        topic = kafka.state_topic
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        if not partitions:
            log.warning("the lease state topic %s is missing: no snapshot to send", topic)
            return
        starts = consumer.beginning_offsets(partitions)
        ends = consumer.end_offsets(partitions)
        for tp in partitions:
            if starts[tp] >= ends[tp]:
                continue
            latest = LatestOffsets()
            for record in _records(consumer, tp, starts[tp], ends[tp], stop):
                latest.note(record.key, record.offset, deleted=record.value is None)
            for record in _records(consumer, tp, starts[tp], ends[tp], stop):
                if not latest.is_latest(record.key, record.offset):
                    continue
                try:
                    yield from_record(record.key, record.value, record.headers)
                except Exception as exc:  # anyone who can write the topic wrote this
                    log.warning("snapshot skips offset %d of %s: %s", record.offset, tp, exc)
    finally:
        consumer.close()


def _records(
    consumer: KafkaConsumer, tp: TopicPartition, start: int, end: int, stop: Callable[[], bool]
) -> Iterator[Any]:
    """The records of ``tp`` in [start, end) (a compacted topic has gaps in its offsets)."""
    consumer.assign([tp])
    consumer.seek(tp, start)
    while not stop():
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                if record.offset >= end:
                    return
                yield record
        if consumer.position(tp) >= end:
            return
