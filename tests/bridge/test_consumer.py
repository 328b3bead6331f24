"""How the bridge reads Blazar's transport_url and declares its pool queue (no broker needed)."""

from __future__ import annotations

import pytest

from bridge.consumer import NotificationQueue, to_kombu_url
from bridge.settings import BridgeSettings


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
