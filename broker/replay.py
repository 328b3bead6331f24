"""Replay (re-deliver a subscription's events from Kafka by time) and test events."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent
from confluent_kafka import Consumer, TopicPartition

from blazar_events.errors import NotificationRejected
from blazar_events.events import TYPE_PREFIX
from blazar_events.records import from_record
from blazar_events.settings import KafkaSettings
from blazar_events.statetopic import TIMEOUT, headers_of, offset_of, partitions_of, records_between
from blazar_events.subscription import Subscription

log = logging.getLogger(__name__)

TEST_TYPE = TYPE_PREFIX + "subscription.test"


def to_test_event(sub: Subscription, source_prefix: str = "/openstack/blazar") -> CloudEvent:
    """A synthetic event that lets a tenant check their endpoint and signature checking."""
    project = sub.project_id if sub.project_id != "*" else "*"
    attributes = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"{source_prefix.rstrip('/')}/blazar-events",
        "type": TEST_TYPE,
        "subject": sub.id,
        "time": datetime.now(UTC),
        "datacontenttype": "application/json",
        "projectid": project,
        "partitionkey": sub.id,
    }
    data = {
        "subscription_id": sub.id,
        "message": "a test event: your endpoint received and (we hope) verified it",
    }
    return CloudEvent(attributes, data)


def from_kafka(
    kafka: KafkaSettings,
    since: datetime,
    until: datetime | None,
    topic: str | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[BaseCloudEvent]:
    """Every event on the topic written in [since, until), partition by partition."""
    topic = topic or kafka.topic
    consumer = Consumer(
        {
            **kafka.librdkafka_config(),
            # Assigned by hand, nothing committed: the group is never joined.
            "group.id": "blazar-events-replay",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = partitions_of(consumer, topic)
        if not partitions:
            return
        starts = _offsets_at(consumer, partitions, since)
        limits = _offsets_at(consumer, partitions, until) if until is not None else {}
        for tp in partitions:
            start = starts.get(tp.partition)
            if start is None:  # nothing written since
                continue
            end = limits.get(tp.partition)
            if end is None:  # nothing written after ``until`` (or no until): to the end
                end = consumer.get_watermark_offsets(tp, TIMEOUT)[1]
            if start >= end:
                continue
            for record in records_between(consumer, tp, start, end, stop):
                try:
                    yield from_record(record.key(), record.value() or b"", headers_of(record))
                except NotificationRejected as exc:
                    log.warning("replay skips offset %d: %s", offset_of(record), exc.message)
    finally:
        consumer.close()


def _offsets_at(
    consumer: Consumer, partitions: list[TopicPartition], when: datetime
) -> dict[int, int]:
    """Per partition, the first offset written at or after ``when`` (none: nothing since)."""
    millis = int(when.timestamp() * 1000)
    found = consumer.offsets_for_times(
        [TopicPartition(tp.topic, tp.partition, millis) for tp in partitions], TIMEOUT
    )
    return {tp.partition: tp.offset for tp in found if tp.offset >= 0}
