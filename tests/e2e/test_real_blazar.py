"""The real producer: leases made through Blazar's API, events published by blazar-manager.

blazar-api and blazar-manager 18.0.0 of the local stack (``blazar-events stack up``) publish to
the ``openstack`` exchange as any Blazar does; the bridge takes them from a pool queue of this
test's own, and the broker delivers to a real sink. These tests wait for Blazar's own schedule
(the manager looks for due events every 10 s, dates have minute precision): minutes each.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import kombu
import pytest
from confluent_kafka import Consumer, Message, TopicPartition

from blazar_events.store import SubscriptionStore
from stack.blazar_setup import demo_account
from stack.identity import Account
from stack.leases import Leases, next_minute
from stack.sink import Received, Sink
from tests.bridge.conftest import Route
from tests.conftest import _require, unique_name
from tests.delivery.conftest import to_subscription
from tests.e2e.conftest import Pipeline

pytestmark = pytest.mark.pipeline

PREFIX = "org.openstack.blazar."
LIFE = ["lease.create", "lease.event.start_lease", "lease.event.before_end_lease",
        "lease.event.end_lease"]  # fmt: skip


@pytest.fixture(scope="module")
def tenant() -> Account:
    """The Blazar tenant of the stack, once blazar-api and blazar-manager both answer."""
    _require("blazar-api")
    _require("blazar")
    return demo_account()


@pytest.fixture
def blazar_pipeline(
    tenant: Account, transport_url: str, kafka_bootstrap: str, redis_url: str,
    redis_prefix: str, tmp_path: Any,
) -> Iterator[Pipeline]:  # fmt: skip
    # Blazar's own exchange, a pool queue of this test's: other consumers keep their copies.
    route = Route(amqp_url=transport_url, kafka_bootstrap=kafka_bootstrap, exchange="openstack")
    route.declare()
    running = Pipeline(route, redis_url, redis_prefix, tmp_path)
    running.start("bridge")
    running.start("broker")
    try:
        yield running
    finally:
        running.stop()
        url = route.amqp_url.replace("rabbit://", "amqp://")
        with kombu.Connection(url) as connection, contextlib.suppress(Exception):
            connection.channel().queue_delete(route.pool)  # never Blazar's exchange


@pytest.fixture
def wiretap(tenant: Account, amqp_url: str) -> Iterator[kombu.Queue]:
    """A queue of our own on Blazar's route: the raw messages, _context_* and all."""
    exchange = kombu.Exchange("openstack", type="topic", durable=False)
    queue = kombu.Queue(unique_name("wiretap"), exchange, routing_key="notifications.info",
                        auto_delete=False, durable=False)  # fmt: skip
    with kombu.Connection(amqp_url) as connection:
        queue(connection.channel()).declare()
    yield queue
    with kombu.Connection(amqp_url) as connection, contextlib.suppress(Exception):
        connection.channel().queue_delete(queue.name)


def raw_messages(amqp_url: str, queue: kombu.Queue) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    with kombu.Connection(amqp_url) as connection:
        bound = queue(connection.channel())
        while (message := bound.get(no_ack=True)) is not None:
            envelope = json.loads(message.body)
            bodies.append(json.loads(envelope["oslo.message"]))
    return bodies


def of_lease(lease_id: str, received: list[Received]) -> list[Received]:
    return [r for r in received if r.event is not None
            and r.event.get_extension("leaseid") == lease_id]  # fmt: skip


def test_a_leases_life_arrives_in_order_signed_and_only_to_its_project(
    tenant: Account, blazar_pipeline: Pipeline, store: SubscriptionStore, sink: Sink,
    wiretap: kombu.Queue, amqp_url: str, kafka_bootstrap: str,
) -> None:  # fmt: skip
    _, secret = to_subscription(store, sink.url("mine"), project_id=tenant.project_id)
    sink.verify_with("mine", secret)
    _, other_secret = to_subscription(store, sink.url("other"), project_id=unique_name("p"))
    sink.verify_with("other", other_secret)
    blazar = Leases(tenant)
    start = next_minute(timedelta(seconds=60))
    lease = blazar.create(unique_name("lease"), start, start + timedelta(minutes=2))

    # The whole life: create at once, start, before_end (1 min before the end), end.
    done = blazar_pipeline.wait_for(
        sink, lambda got: len(of_lease(lease["id"], [r for r in got if r.path == "/mine"])) >= 4,
        timeout=420.0,
    )  # fmt: skip
    arrived = of_lease(lease["id"], [r for r in done if r.path == "/mine"])
    assert [str(r.event.get_type()) for r in arrived if r.event] == [PREFIX + t for t in LIFE]
    assert all(r.verified for r in arrived), [r.error for r in arrived]
    statuses = [r.event.get_extension("leasestatus") for r in arrived if r.event]
    assert statuses[0] == "PENDING" and statuses[-1] in {"TERMINATED", "TERMINATING"}, statuses
    assert not [r for r in done if r.path == "/other"], "another project saw the tenant's lease"

    # Nothing of the trust reached Kafka or the sink: neither the trust id nor any value of
    # the message context (request ids, and the token blazar-manager acts with) that is not
    # also a payload field (user and project ids are).
    raw = [m for m in raw_messages(amqp_url, wiretap)
           if m.get("payload", {}).get("lease_id") == lease["id"]]  # fmt: skip
    assert len(raw) >= 4, "the wiretap saw Blazar's messages"
    secrets = {lease["trust_id"]}
    for message in raw:
        payload = json.dumps(message["payload"])
        context = {k: v for k, v in message.items() if k.startswith("_context_")}
        assert context, "Blazar's messages carry a context"
        secrets |= {v for v in context.values()
                    if isinstance(v, str) and len(v) >= 20 and v not in payload}  # fmt: skip
    records = whole_topic(kafka_bootstrap, blazar_pipeline.route.topic)
    assert len(records) >= 4
    # Headers too: every CloudEvent attribute travels in a ce_ header (Kafka) or a ce- one
    # (binary-mode deliveries), where a leaked context value would sit beside the data.
    blobs = [r.value() or b"" for r in records] + [r.body for r in done]
    blobs += [b"".join(k.encode() + (v or b"") for k, v in r.headers() or []) for r in records]
    blobs += [repr(sorted(r.headers.items())).encode() for r in done]
    for blob in blobs:
        for secret_value in secrets:
            assert secret_value.encode() not in blob


def whole_topic(bootstrap: str, topic: str, quiet: float = 5.0) -> list[Message]:
    """Every record of ``topic``, read until none came for ``quiet`` seconds."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("wiretap"),
                         "enable.auto.commit": False})  # fmt: skip
    try:
        partitions = consumer.list_topics(topic, 30).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        records: list[Message] = []
        last = time.monotonic()
        while time.monotonic() - last < quiet:
            found = [m for m in consumer.consume(100, 0.5) if m.error() is None]
            if found:
                records += found
                last = time.monotonic()
        return records
    finally:
        consumer.close()


def test_a_prolonged_then_deleted_lease_gives_update_and_delete(
    tenant: Account, blazar_pipeline: Pipeline, store: SubscriptionStore, sink: Sink
) -> None:
    _, secret = to_subscription(store, sink.url("mine"), project_id=tenant.project_id)
    sink.verify_with("mine", secret)
    blazar = Leases(tenant)
    start = next_minute(timedelta(minutes=30))
    lease = blazar.create(unique_name("lease"), start, start + timedelta(hours=1))
    prolonged = blazar.prolong(lease["id"], timedelta(hours=1))
    blazar.delete(lease["id"])

    done = blazar_pipeline.wait_for(
        sink, lambda got: len(of_lease(lease["id"], got)) >= 3, timeout=120.0
    )
    arrived = [r.event for r in of_lease(lease["id"], done) if r.event]
    assert [str(e.get_type()) for e in arrived] == [
        PREFIX + "lease.create", PREFIX + "lease.update", PREFIX + "lease.delete"
    ]  # fmt: skip
    update = arrived[1].get_data()
    assert isinstance(update, dict)
    assert update["end_date"].startswith(prolonged["end_date"][:16])
    assert update["end_date"] != lease["end_date"], "the update carries the moved end date"
