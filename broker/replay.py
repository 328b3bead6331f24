"""Replay (re-deliver a subscription's events from Kafka by time) and test events."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent
from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from blazar_events.errors import NotificationRejected
from blazar_events.events import TYPE_PREFIX
from blazar_events.records import from_record
from blazar_events.settings import KafkaSettings
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
    consumer = KafkaConsumer(**kafka.client_options(), enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        if not partitions:
            return
        ends = consumer.end_offsets(partitions)
        starts = consumer.offsets_for_times(
            {tp: int(since.timestamp() * 1000) for tp in partitions}
        )
        if until is not None:
            limits = consumer.offsets_for_times(
                {tp: int(until.timestamp() * 1000) for tp in partitions}
            )
            ends = {tp: (limits[tp].offset if limits.get(tp) else ends[tp]) for tp in partitions}
        remaining = {
            tp for tp in partitions if starts.get(tp) is not None and starts[tp].offset < ends[tp]
        }
        if not remaining:
            return
        consumer.assign(list(remaining))
        for tp in remaining:
            consumer.seek(tp, starts[tp].offset)
        while remaining and not stop():
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    if record.offset >= ends[tp]:
                        remaining.discard(tp)
                        break
                    try:
                        yield from_record(record.key, record.value, record.headers)
                    except NotificationRejected as exc:
                        log.warning("replay skips offset %d: %s", record.offset, exc.message)
                if tp in remaining and consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        consumer.close()
