"""How the bridge reads Blazar's transport_url, declares its pool queue and takes batches."""

from __future__ import annotations

import pytest

from bridge.consumer import NotificationQueue, to_kombu_url
from bridge.settings import BridgeSettings
from bridge.translation import AmqpMessage
from tests.bridge.conftest import Route, publish_raw


@pytest.mark.parametrize(
    ("transport_url", "expected"),
    [
        ("rabbit://guest:guest@127.0.0.1:5673/", "amqp://guest:guest@127.0.0.1:5673/"),
        ("rabbit://u:p@h1:5672,u:p@h2:5672/blazar", "amqp://u:p@h1:5672/blazar"),
        ("rabbit://u:p@h1/", "amqp://u:p@h1:5672/"),
        ("amqp://guest:guest@127.0.0.1:5673//", "amqp://guest:guest@127.0.0.1:5673/%2F"),
    ],
)
def test_an_oslo_transport_url_becomes_a_kombu_url(transport_url: str, expected: str) -> None:
    assert to_kombu_url(transport_url) == expected


def test_the_pool_queue_is_bound_like_an_oslo_listener_pool() -> None:
    settings = BridgeSettings.load(
        pool="blazar-events", topics="notifications,audit", priorities="info,error"
    )
    queue = NotificationQueue(settings).queue
    assert queue.name == "blazar-events"
    assert queue.durable
    assert not queue.auto_delete
    assert sorted(b.routing_key for b in queue.bindings) == [
        "audit.error",
        "audit.info",
        "notifications.error",
        "notifications.info",
    ]
    assert {b.exchange.name for b in queue.bindings} == {"openstack"}
    assert {b.exchange.type for b in queue.bindings} == {"topic"}
    assert {b.exchange.durable for b in queue.bindings} == {False}


def test_a_quorum_queue_is_declared_durable_with_its_type() -> None:
    queue = NotificationQueue(BridgeSettings.load(queue_type="quorum", queue_durable=False)).queue
    assert queue.durable
    assert queue.queue_arguments == {"x-queue-type": "quorum"}  # type: ignore[attr-defined]


def test_without_a_batch_wait_a_backlog_is_still_taken_in_batches(route: Route) -> None:
    """With ``batch_wait`` 0 the bridge must not fall back to one Kafka round trip per
    notification: what RabbitMQ has already pushed is taken behind the first delivery."""
    route.declare()
    count = 300
    publish_raw(route.amqp_url, route.exchange, [b"%d" % n for n in range(count)])
    queue = NotificationQueue(route.bridge_settings(batch_wait=0, prefetch=1000))
    queue.connect()
    try:
        batches: list[list[AmqpMessage]] = []
        while sum(len(batch) for batch in batches) < count:
            batch = queue.collect(500, first_wait=30, batch_wait=0)
            assert batch, "the backlog stopped arriving"
            batches.append(batch)
            queue.ack_through(batch[-1].tag)
    finally:
        queue.close()
    bodies = [delivery.body for batch in batches for delivery in batch]
    assert bodies == [b"%d" % n for n in range(count)]
    assert len(batches) < count / 4, [len(batch) for batch in batches]
