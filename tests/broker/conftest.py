"""A broker running in-process (its own thread and event loop) on real Kafka and Redis."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from cloudevents.core.base import BaseCloudEvent
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from blazar_events.records import from_record, to_record
from blazar_events.settings import KafkaSettings
from blazar_events.statetopic import headers_of
from blazar_events.store import SubscriptionStore
from broker.assembly import Broker
from broker.consumer import KafkaSource, Record
from broker.offsets import OffsetTracker, Settle
from broker.settings import BrokerSettings
from delivery.settings import DeliverySettings
from stack.sink import Sink
from tests.conftest import unique_name


class RunningBroker:
    def __init__(self, assembly: Broker) -> None:
        self.assembly = assembly
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:
            self.error = exc
            self._started.set()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        await self.assembly.start()
        self._started.set()
        await self._stop.wait()
        await self.assembly.stop()

    def start(self) -> RunningBroker:
        self._thread.start()
        self._started.wait(60)
        if self.error:
            raise self.error
        return self

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)


@pytest.fixture
def kafka_settings(kafka_bootstrap: str, kafka_topic: str) -> KafkaSettings:
    return KafkaSettings.load(
        bootstrap_servers=[kafka_bootstrap], topic=kafka_topic, dlq_topic=unique_name("dlq")
    )


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> Iterator[SubscriptionStore]:
    client = redis.Redis.from_url(redis_url)
    yield SubscriptionStore(client, redis_prefix)
    client.close()


@pytest.fixture
def start_broker(
    redis_url: str, store: SubscriptionStore, kafka_settings: KafkaSettings
) -> Iterator[Callable[..., RunningBroker]]:
    running: list[RunningBroker] = []
    group = unique_name("group")

    def start(**overrides: Any) -> RunningBroker:
        settings = BrokerSettings.load(
            group_id=group, **{"shutdown_grace": 2.0, "commit_interval": 0.2, **overrides}
        )
        delivery = DeliverySettings.load(allowed_networks=["127.0.0.0/8"])
        assembly = Broker(
            settings, delivery, kafka_settings, store, aioredis.Redis.from_url(redis_url)
        )
        broker = RunningBroker(assembly).start()
        running.append(broker)
        return broker

    yield start
    for broker in running:
        broker.stop()


def send(
    producer: Producer,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    partition: int = -1,
) -> None:
    """One record (to ``partition``, or the partitioner's), confirmed by Kafka."""
    failed: list[KafkaError] = []

    def confirmed(error: KafkaError | None, _: Message) -> None:
        if error is not None:
            failed.append(error)

    producer.produce(topic, value, key, partition, headers=headers, on_delivery=confirmed)
    assert producer.flush(30) == 0, "Kafka did not confirm the record in 30 s"
    if failed:
        raise KafkaException(failed[0])


@pytest.fixture
def publish(kafka_settings: KafkaSettings) -> Iterator[Callable[[BaseCloudEvent], None]]:
    producer = Producer({**kafka_settings.librdkafka_config(), "acks": "all"})

    def publish(event: BaseCloudEvent) -> None:
        record = to_record(event)
        send(producer, kafka_settings.topic, record.value, record.key, list(record.headers))

    yield publish
    producer.flush(30)


def committed(kafka: KafkaSettings, group: str, at_least: int, timeout: float = 30) -> int:
    """Group ``group``'s committed offset of partition 0 of the topic, once ``at_least``
    (or whatever it is after ``timeout``)."""
    consumer = Consumer({**kafka.librdkafka_config(), "group.id": group})
    try:
        tp = TopicPartition(kafka.topic, 0)
        deadline = time.monotonic() + timeout
        while True:
            [found] = consumer.committed([tp], 10)
            offset = max(0, found.offset)  # none yet: negative
            if offset >= at_least or time.monotonic() >= deadline:
                return offset
            time.sleep(0.2)
    finally:
        consumer.close()


def read_topic(
    bootstrap: list[str], topic: str, count: int, timeout: float = 60
) -> list[BaseCloudEvent]:
    """``count`` events from the start of ``topic`` (which the broker may not have created yet)."""
    consumer = Consumer({"bootstrap.servers": ",".join(bootstrap), "group.id": "tests-reader",
                         "enable.auto.commit": False})  # fmt: skip
    deadline = time.monotonic() + timeout
    found: list[BaseCloudEvent] = []
    try:
        while True:
            metadata = consumer.list_topics(topic, 10).topics.get(topic)
            if metadata is not None and metadata.error is None and metadata.partitions:
                break
            assert time.monotonic() < deadline, f"topic {topic} never appeared"
            time.sleep(0.2)
        consumer.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
        while len(found) < count and time.monotonic() < deadline:
            for message in consumer.consume(100, 0.5):
                if message.error() is None:
                    found.append(from_record(message.key(), message.value() or b"",
                                             headers_of(message)))  # fmt: skip
    finally:
        consumer.close()
    return found


class RunningSource:
    """A KafkaSource polling in a thread; every record handed on starts one delivery,
    whose settle is kept here (in offset order) for the test to call."""

    def __init__(self, kafka: KafkaSettings, **overrides: object) -> None:
        self.tracker = OffsetTracker()
        self.settings = BrokerSettings.load(
            **{"group_id": unique_name("consumer"), "commit_interval": 0.1, **overrides}
        )
        self.records: list[Record] = []
        self.settles: list[Settle] = []
        self.settle_of: dict[tuple[int, int], Settle] = {}  # by (partition, offset)
        self.source = KafkaSource(kafka, self.settings, self.tracker, self._deliver)
        self.thread = threading.Thread(target=self.source.consume, daemon=True)

    def _deliver(self, records: list[Record]) -> None:
        for record in records:
            slot = self.tracker.start(
                record.topic, record.partition, record.offset, 1, generation=record.generation
            )
            if slot is None:  # read by an assignment since revoked
                continue
            self.settles.append(self.tracker.settle(slot))
            self.settle_of[(record.partition, record.offset)] = self.settles[-1]
        self.records.extend(records)
        self.source.routed(len(records))

    def wait_for(self, count: int, timeout: float = 60) -> list[Record]:
        deadline = time.monotonic() + timeout
        while len(self.records) < count:
            assert time.monotonic() < deadline, f"{len(self.records)} of {count} records"
            assert self.source.error is None, self.source.error
            time.sleep(0.05)
        return self.records


@pytest.fixture
def running(kafka_bootstrap: str) -> Iterator[Callable[..., RunningSource]]:
    """KafkaSources started on a topic (``group=``: in that consumer group)."""
    started: list[RunningSource] = []

    def start(topic: str, **overrides: object) -> RunningSource:
        kafka = KafkaSettings.load(bootstrap_servers=[kafka_bootstrap], topic=topic)
        run = RunningSource(kafka, **overrides)
        run.thread.start()
        started.append(run)
        return run

    yield start
    for run in started:
        run.source.close(30)
        run.thread.join(30)


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as running:
        yield running
