"""Fixtures of the bridge tests: a Blazar-like notifier, a bridge, a Kafka reader.

Every test gets its own exchange (Blazar's ``control_exchange``), pool queue and Kafka
topics, so tests run in parallel without seeing each other's messages. The notifier is
oslo.messaging's own, configured as blazar-manager configures it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import amqp
import kombu
import oslo_messaging
import pytest
from cloudevents.core.base import BaseCloudEvent
from confluent_kafka import Consumer, Message
from oslo_config import cfg

from blazar_events.records import from_record
from blazar_events.settings import EventSettings, KafkaSettings
from bridge.consumer import NotificationQueue, to_kombu_url
from bridge.service import Bridge
from bridge.settings import BridgeSettings
from stack.kafka import delete_topics

FIXTURES = Path(__file__).parent.parent / "fixtures" / "blazar"
WAIT = 60.0  # a guard against hanging, not a performance assertion


def fixture_message(name: str) -> dict[str, Any]:
    """The oslo message dict of a fixture file."""
    body = json.loads((FIXTURES / name).read_text())
    return json.loads(body["oslo.message"]) if "oslo.message" in body else body


def blazar_fixtures() -> list[str]:
    return sorted(
        p.name for p in FIXTURES.glob("*.json") if p.name.startswith(("v2-", "legacy-", "v1-"))
    )


def malformed_bodies() -> dict[str, bytes]:
    corpus = json.loads((FIXTURES / "malformed.json").read_text())
    return {
        name: value.encode() if isinstance(value, str) else json.dumps(value).encode()
        for name, value in corpus.items()
    }


@dataclass
class Route:
    """One test's private copy of Blazar's notification route and Kafka topics."""

    amqp_url: str  # oslo form, rabbit://...
    kafka_bootstrap: str
    exchange: str = field(default_factory=lambda: f"openstack-test-{uuid.uuid4().hex[:8]}")
    pool: str = field(default_factory=lambda: f"blazar-events-{uuid.uuid4().hex[:8]}")
    topic: str = field(default_factory=lambda: f"blazar.events.test-{uuid.uuid4().hex[:8]}")

    @property
    def rejected_topic(self) -> str:
        return self.topic + ".rejected"

    @property
    def state_topic(self) -> str:
        return self.topic + ".leases"

    def bridge_settings(self, **overrides: Any) -> BridgeSettings:
        values: dict[str, Any] = {
            "transport_url": self.amqp_url,
            "exchange": self.exchange,
            "pool": self.pool,
            "port": 0,
            "retry_backoff": 0.2,
            "retry_backoff_max": 2.0,
            "kafka_delivery_timeout": 5.0,  # fault tests see failures sooner
            "log_format": "text",
        }
        return BridgeSettings.load(**{**values, **overrides})

    def kafka_settings(self) -> KafkaSettings:
        return KafkaSettings.load(
            bootstrap_servers=[self.kafka_bootstrap],
            topic=self.topic,
            rejected_topic=self.rejected_topic,
            state_topic=self.state_topic,
        )

    def env(self) -> dict[str, str]:
        """The same configuration as environment variables, for a bridge subprocess."""
        return {
            "BLAZAR_EVENTS_BRIDGE_TRANSPORT_URL": self.amqp_url,
            "BLAZAR_EVENTS_BRIDGE_EXCHANGE": self.exchange,
            "BLAZAR_EVENTS_BRIDGE_POOL": self.pool,
            "BLAZAR_EVENTS_BRIDGE_PORT": "0",
            "BLAZAR_EVENTS_BRIDGE_RETRY_BACKOFF": "0.2",
            "BLAZAR_EVENTS_BRIDGE_RETRY_BACKOFF_MAX": "2",
            "BLAZAR_EVENTS_BRIDGE_KAFKA_DELIVERY_TIMEOUT": "5",
            "BLAZAR_EVENTS_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "BLAZAR_EVENTS_KAFKA_TOPIC": self.topic,
            "BLAZAR_EVENTS_KAFKA_REJECTED_TOPIC": self.rejected_topic,
            "BLAZAR_EVENTS_KAFKA_STATE_TOPIC": self.state_topic,
        }

    def declare(self) -> None:
        """Create the pool queue as the bridge does, before anything is published."""
        queue = NotificationQueue(self.bridge_settings())
        queue.connect()
        queue.close()

    def cleanup(self) -> None:
        with kombu.Connection(to_kombu_url(self.amqp_url)) as conn:
            channel = conn.channel()
            with contextlib.suppress(Exception):
                channel.queue_delete(self.pool)
            with contextlib.suppress(Exception):
                channel.exchange_delete(self.exchange)
        # The bridge's topics were auto-created; best effort, Kafka may be the one stopped.
        with contextlib.suppress(Exception):
            delete_topics(self.kafka_bootstrap, [self.topic, self.rejected_topic, self.state_topic])


class BlazarNotifier:
    """oslo.messaging's Notifier exactly as blazar-manager sets it up: driver messagingv2,
    publisher ``blazar.lease``, topic ``notifications``, on the given control exchange."""

    def __init__(
        self,
        amqp_url: str,
        exchange: str,
        config_dir: Path,
        *,
        driver: str = "messagingv2",
        publisher_id: str = "blazar.lease",
    ) -> None:
        # Set where an operator sets it: control_exchange in blazar.conf's [DEFAULT].
        config_dir.mkdir(parents=True, exist_ok=True)
        blazar_conf = config_dir / "blazar.conf"
        blazar_conf.write_text(f"[DEFAULT]\ncontrol_exchange = {exchange}\n")
        self.conf = cfg.ConfigOpts()
        self.conf(["--config-file", str(blazar_conf)], project="blazar")
        self.transport = oslo_messaging.get_notification_transport(self.conf, url=amqp_url)
        self.notifier = oslo_messaging.Notifier(
            self.transport,
            publisher_id=publisher_id,
            driver=driver,
            topics=["notifications"],
        )

    def notify(self, fixture: dict[str, Any]) -> None:
        """Send a fixture's event as Blazar would: its context, event type and payload."""
        context = {
            k.removeprefix("_context_"): v for k, v in fixture.items() if k.startswith("_context_")
        }
        self.notifier.info(context, fixture["event_type"], fixture["payload"])

    def close(self) -> None:
        self.transport.cleanup()


def publish_raw(amqp_url: str, exchange: str, bodies: list[bytes]) -> None:
    """Publish bodies byte for byte, as a broken or foreign publisher might."""
    with kombu.Connection(to_kombu_url(amqp_url)) as conn:
        producer = conn.Producer(serializer=None)
        target = kombu.Exchange(exchange, type="topic", durable=False)
        for body in bodies:
            producer.publish(
                body,
                exchange=target,
                routing_key="notifications.info",
                content_type="application/octet-stream",
                content_encoding="binary",
            )


@dataclass(frozen=True)
class ReadRecord:
    """One record as read back: what a subscriber of the topic sees."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    partition: int
    offset: int


def to_read(message: Message) -> ReadRecord:
    key, value = message.key(), message.value()
    return ReadRecord(
        key=key.encode() if isinstance(key, str) else key,
        value=value.encode() if isinstance(value, str) else value or b"",
        headers=[(name, raw or b"") for name, raw in message.headers() or []],
        partition=message.partition() or 0,
        offset=message.offset() or 0,
    )


class KafkaReader:
    """Reads a test's topic from the beginning."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        config = KafkaSettings.load(bootstrap_servers=[bootstrap]).librdkafka_config()
        self.consumer = Consumer(
            {
                **config,
                "group.id": f"reader-{uuid.uuid4().hex[:12]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "topic.metadata.refresh.interval.ms": 1000,  # a topic the bridge creates later
            }
        )
        self.consumer.subscribe([topic])
        self.records: list[ReadRecord] = []

    def _poll(self, timeout: float) -> None:
        for message in self.consumer.consume(500, timeout):
            if message.error() is None:  # e.g. the topic does not exist yet: read on
                self.records.append(to_read(message))

    def read(self, count: int, timeout: float = WAIT) -> list[ReadRecord]:
        """At least ``count`` records (all read so far); fails the test when they never come."""
        deadline = time.monotonic() + timeout
        while len(self.records) < count and time.monotonic() < deadline:
            self._poll(0.5)
        assert len(self.records) >= count, f"{len(self.records)} of {count} records arrived"
        return self.records

    def settle(self, seconds: float = 2.0) -> list[ReadRecord]:
        """Everything that arrives within ``seconds`` more (to catch extras)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._poll(0.2)
        return self.records

    def close(self) -> None:
        self.consumer.close()


def to_event(record: ReadRecord) -> BaseCloudEvent:
    return from_record(record.key, record.value, record.headers)


@pytest.fixture
def route(transport_url: str, kafka_bootstrap: str) -> Iterator[Route]:
    route = Route(amqp_url=transport_url, kafka_bootstrap=kafka_bootstrap)
    yield route
    route.cleanup()


@pytest.fixture
def notifier(route: Route, tmp_path: Path) -> Iterator[BlazarNotifier]:
    notifier = BlazarNotifier(route.amqp_url, route.exchange, tmp_path)
    yield notifier
    notifier.close()


@pytest.fixture
def reader(route: Route) -> Iterator[Callable[[str], KafkaReader]]:
    readers: list[KafkaReader] = []

    def make(topic: str) -> KafkaReader:
        readers.append(KafkaReader(route.kafka_bootstrap, topic))
        return readers[-1]

    yield make
    for item in readers:
        item.close()


@contextlib.contextmanager
def running(bridge: Bridge) -> Iterator[Bridge]:
    thread = threading.Thread(target=bridge.run, name="bridge-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    # Its queue must exist before anything is published, or those messages route nowhere.
    while not bridge.health.amqp_connected and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield bridge
    finally:
        bridge.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the bridge did not stop"


@pytest.fixture
def start_bridge(route: Route) -> Callable[..., Bridge]:
    """Build a bridge on the test's route; use it as ``with running(bridge): ...``."""

    def make(**overrides: Any) -> Bridge:
        return Bridge(
            route.bridge_settings(**overrides), route.kafka_settings(), EventSettings.load()
        )

    return make


class RawPropertiesMessage(amqp.Message):  # type: ignore[misc]
    """A message whose content-header properties are sent as the given bytes, unchecked."""

    def __init__(self, body: bytes, properties: bytes) -> None:
        super().__init__(body)
        self._raw_properties = properties

    def _serialize_properties(self) -> bytes:
        return self._raw_properties


def publish_with_properties(amqp_url: str, exchange: str, body: bytes, properties: bytes) -> None:
    """Publish ``body`` with raw AMQP basic properties (flags and values, as on the wire):
    what a foreign client may put on the bus that py-amqp would never write itself."""
    with kombu.Connection(to_kombu_url(amqp_url)) as conn:
        channel = conn.channel()
        channel.basic_publish(
            RawPropertiesMessage(body, properties),
            exchange=exchange,
            routing_key="notifications.info",
        )
