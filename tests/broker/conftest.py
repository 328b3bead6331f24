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
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from blazar_events.records import from_record, to_record
from blazar_events.settings import KafkaSettings
from blazar_events.store import SubscriptionStore
from broker.assembly import Broker
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


@pytest.fixture
def publish(kafka_settings: KafkaSettings) -> Iterator[Callable[[BaseCloudEvent], None]]:
    producer = KafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers, acks="all")

    def send(event: BaseCloudEvent) -> None:
        record = to_record(event)
        producer.send(
            kafka_settings.topic, key=record.key, value=record.value, headers=list(record.headers)
        ).get(30)

    yield send
    producer.close()


def read_topic(
    bootstrap: list[str], topic: str, count: int, timeout: float = 60
) -> list[BaseCloudEvent]:
    """``count`` events from the start of ``topic`` (which the broker may not have created yet)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, metadata_max_age_ms=500)
    deadline = time.monotonic() + timeout
    found: list[BaseCloudEvent] = []
    try:
        while not consumer.partitions_for_topic(topic):
            assert time.monotonic() < deadline, f"topic {topic} never appeared"
            consumer.topics()  # refreshes the metadata
            time.sleep(0.2)
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        while len(found) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                found.extend(from_record(r.key, r.value, r.headers) for r in records)
    finally:
        consumer.close()
    return found


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as running:
        yield running
