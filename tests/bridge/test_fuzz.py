"""The bus fuzzer: generated hostile messages on Blazar's real route, each chased by a
valid notification sent the way blazar-manager sends it (oslo.messaging's Notifier).

One bridge runs for the whole test, as in production. After every example: the valid
notification arrived as a CloudEvent; the hostile message was accounted for, i.e. parked
on the rejected topic (found there by the SHA-256 of its body), forwarded, or ignored as
another service's; and the bridge never restarted its consumer. No Keystone token placed
in the hostile bodies ever reaches Kafka or a log line.
"""

from __future__ import annotations

import copy
import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import amqp
import kombu
import pytest
from hypothesis import HealthCheck, given, settings

from bridge.service import Bridge
from bridge.transport import to_kombu_url
from tests.bridge.conftest import (
    WAIT,
    BlazarNotifier,
    KafkaReader,
    RawPropertiesMessage,
    Route,
    fixture_message,
    running,
    to_event,
)
from tests.bridge.hostile import TOKEN, Hostile, hostile_messages

pytestmark = pytest.mark.slow
VALID = fixture_message("v2-lease.event.start_lease.json")
REASONS = {
    "too-large",
    "not-utf8",
    "not-json",
    "unsupported-envelope",
    "invalid-envelope",
    "missing-message-id",
    "missing-publisher-id",
    "missing-event-type",
    "invalid-event-type",
    "invalid-payload",
    "missing-lease-id",
    "missing-project-id",
    "invalid-timestamp",
    "kafka-refused",
}


class Publisher:
    """One AMQP connection that publishes whatever it is given on Blazar's route."""

    def __init__(self, route: Route) -> None:
        self.connection = kombu.Connection(to_kombu_url(route.amqp_url))
        self.channel = self.connection.channel()
        self.exchange = route.exchange

    def publish(self, hostile: Hostile) -> None:
        message = (
            RawPropertiesMessage(hostile.body, hostile.raw_properties)
            if hostile.raw_properties is not None
            else amqp.Message(hostile.body, **hostile.properties)
        )
        self.channel.basic_publish(
            message, exchange=self.exchange, routing_key="notifications.info"
        )

    def close(self) -> None:
        self.connection.release()


class Tally:
    """What the bridge says it did, from its own counters."""

    def __init__(self, bridge: Bridge) -> None:
        self.metrics = bridge.metrics

    def now(self) -> dict[str, float]:
        registry = self.metrics.registry
        rejected = sum(
            sample.value
            for metric in registry.collect()
            if metric.name == "blazar_events_bridge_rejected"
            for sample in metric.samples
            if sample.name.endswith("_total")
        )
        return {
            "received": self.metrics.received._value.get(),
            "forwarded": self.metrics.forwarded._value.get(),
            "ignored": self.metrics.ignored._value.get(),
            "rejected": rejected,
        }


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def read_until(reader: KafkaReader, found: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not found():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        reader.settle(0.1)


@pytest.fixture
def publisher(route: Route) -> Iterator[Publisher]:
    publisher = Publisher(route)
    yield publisher
    publisher.close()


@pytest.mark.timeout(1800)
def test_hostile_messages_are_each_accounted_for_and_never_stop_the_notifications(
    route: Route,
    notifier: BlazarNotifier,
    publisher: Publisher,
    reader: Callable[[str], KafkaReader],
    start_bridge: Callable[..., Bridge],
    caplog: pytest.LogCaptureFixture,
) -> None:
    events_topic, rejected_topic = reader(route.topic), reader(route.rejected_topic)
    bridge = start_bridge()
    tally = Tally(bridge)
    outcomes: dict[str, int] = {"parked": 0, "forwarded": 0, "ignored": 0}
    seen: Counter[str] = Counter()  # printed: what the examples turned into

    def parked_hashes() -> dict[bytes, Any]:
        return {
            dict(record.headers).get("blazar_events_body_sha256", b""): record
            for record in rejected_topic.records
        }

    def subjects() -> set[str]:
        return {str(to_event(record).get_subject()) for record in events_topic.records}

    @settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(hostile=hostile_messages())
    def one(hostile: Hostile) -> None:
        before = tally.now()
        publisher.publish(hostile)
        valid = copy.deepcopy(VALID)
        valid["payload"]["lease_id"] = lease = str(uuid.uuid4())
        notifier.notify(valid)

        read_until(events_topic, lambda: lease in subjects(), "the valid notification")

        def settled() -> bool:
            after = tally.now()
            done = sum(after[k] - before[k] for k in ("forwarded", "ignored", "rejected"))
            return after["received"] - before["received"] == 2 and done >= 2

        wait_for(settled, "both messages to be accounted for")
        delta = {k: v - before[k] for k, v in tally.now().items()}
        if delta["rejected"]:
            assert delta == {"received": 2, "forwarded": 1, "ignored": 0, "rejected": 1}
            digest = hashlib.sha256(hostile.body).hexdigest().encode()
            read_until(rejected_topic, lambda: digest in parked_hashes(), "its rejection")
            reason = dict(parked_hashes()[digest].headers)["blazar_events_reason"].decode()
            assert reason in REASONS, reason  # never internal-error: that would be a bug
            outcomes["parked"] += 1
            seen[f"parked {reason}"] += 1
        elif delta["ignored"]:
            assert delta == {"received": 2, "forwarded": 1, "ignored": 1, "rejected": 0}
            outcomes["ignored"] += 1
            seen["ignored"] += 1
        else:
            assert delta == {"received": 2, "forwarded": 2, "ignored": 0, "rejected": 0}
            outcomes["forwarded"] += 1
            seen[f"forwarded {hostile.label}"] += 1
        assert bridge.metrics.amqp_reconnects._value.get() == 0

    with running(bridge):
        one()
        restarts = bridge.metrics.registry.get_sample_value(
            "blazar_events_bridge_consumer_restarts_total", {"cause": "internal"}
        )

    print(sorted(seen.items()))
    assert restarts is None  # never labelled: the consumer never started over
    assert bridge.metrics.amqp_reconnects._value.get() == 0
    assert outcomes["parked"] > outcomes["forwarded"] + outcomes["ignored"]  # it was hostile
    token = TOKEN.encode()
    for record in events_topic.records + rejected_topic.records:
        assert token not in record.value
        assert not any(token in value for _, value in record.headers)
    assert TOKEN not in caplog.text
