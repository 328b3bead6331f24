"""Faults: Kafka away, the bridge killed, RabbitMQ restarted. Nothing may be lost.

Each notification carries a lease id of its own, so "every one arrived" is a set equality
on the CloudEvents' subjects, and "stable ids" means one CloudEvent id per lease.
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bridge.service import Bridge
from tests.bridge.conftest import (
    WAIT,
    BlazarNotifier,
    KafkaReader,
    Route,
    fixture_message,
    running,
    to_event,
)

pytestmark = pytest.mark.slow
TEMPLATE = fixture_message("v2-lease.event.start_lease.json")


def notify_leases(notifier: BlazarNotifier, count: int) -> list[str]:
    """``count`` start_lease notifications, each for a lease of its own."""
    leases = []
    for _ in range(count):
        fixture = copy.deepcopy(TEMPLATE)
        fixture["payload"]["lease_id"] = lease = str(uuid.uuid4())
        notifier.notify(fixture)
        leases.append(lease)
    return leases


def events_by_lease(records: list[Any]) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = defaultdict(set)
    for record in records:
        event = to_event(record)
        ids[str(event.get_subject())].add(event.get_id())
    return ids


def read_leases(reader: KafkaReader, leases: list[str]) -> dict[str, set[str]]:
    """Read until every lease has arrived (duplicates make a plain count unreliable)."""
    deadline = time.monotonic() + 3 * WAIT
    reader.read(len(leases), timeout=3 * WAIT)
    while not set(leases) <= set(ids := events_by_lease(reader.records)):
        assert time.monotonic() < deadline, f"{len(set(leases) - set(ids))} leases missing"
        reader.settle(0.5)
    return ids


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_kafka_stopped_mid_stream_then_started_loses_nothing(
    route: Route,
    notifier: BlazarNotifier,
    reader: Callable[[str], KafkaReader],
    start_bridge: Callable[..., Bridge],
    stack: Any,
) -> None:
    events_topic = reader(route.topic)
    first = start_bridge()
    with running(first):
        before = notify_leases(notifier, 20)
        events_topic.read(len(before))
        stack.stop("kafka")
        during = notify_leases(notifier, 30)
        # The bridge notices and keeps the messages unacknowledged while retrying.
        wait_until(lambda: first.metrics.retries._value.get() > 0, "a produce retry")
        assert not first.health.ready()[0]
    # A bridge (re)started while Kafka is still away waits too, then recovers by itself.
    second = start_bridge()
    with running(second):
        waiting = notify_leases(notifier, 10)
        stack.start("kafka")
        after = notify_leases(notifier, 10)
        ids = read_leases(events_topic, before + during + waiting + after)
        wait_until(lambda: second.health.ready()[0], "readiness after Kafka returned")

    assert set(ids) == set(before + during + waiting + after)
    assert all(len(event_ids) == 1 for event_ids in ids.values())  # duplicates keep their id


@pytest.fixture
def bridge_process(route: Route) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """``blazar-events bridge`` as a deployment runs it: a process configured by env."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        env = {**os.environ, **route.env()}
        process = subprocess.Popen(
            [sys.executable, "-m", "blazar_events.cli", "bridge"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_bridge_killed_mid_stream_and_restarted_delivers_everything_at_least_once(
    route: Route,
    notifier: BlazarNotifier,
    reader: Callable[[str], KafkaReader],
    bridge_process: Callable[[], subprocess.Popen[bytes]],
) -> None:
    route.declare()  # the durable queue outlives the bridge, as it does in production
    events_topic = reader(route.topic)
    sent: list[str] = []
    stop = threading.Event()

    def publish() -> None:
        while not stop.is_set():
            sent.extend(notify_leases(notifier, 25))
            time.sleep(0.02)

    first = bridge_process()
    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    try:
        events_topic.read(50)  # mid-stream: it is forwarding while notifications keep coming
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        time.sleep(0.5)  # notifications pile up in the queue while no bridge runs
        second = bridge_process()
        events_topic.read(len(events_topic.records) + 50)
    finally:
        stop.set()
        publisher.join(timeout=30)
    ids = read_leases(events_topic, sent)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0  # a clean stop on SIGTERM

    assert set(ids) == set(sent)
    assert all(len(event_ids) == 1 for event_ids in ids.values())


def test_the_pool_queue_keeps_notifications_across_a_rabbitmq_restart(
    route: Route,
    notifier: BlazarNotifier,
    reader: Callable[[str], KafkaReader],
    start_bridge: Callable[..., Bridge],
    stack: Any,
) -> None:
    route.declare()
    queued = notify_leases(notifier, 20)  # no bridge running: they wait in the queue
    stack.restart("rabbitmq")
    events_topic = reader(route.topic)
    bridge = start_bridge()
    with running(bridge):
        later = notify_leases(notifier, 5)  # oslo's notifier reconnects by itself
        ids = read_leases(events_topic, queued + later)
    assert set(ids) == set(queued) | set(later)


def test_kafka_restarted_under_a_running_bridge_resumes_without_losing_its_connection(
    route: Route,
    notifier: BlazarNotifier,
    reader: Callable[[str], KafkaReader],
    start_bridge: Callable[..., Bridge],
    stack: Any,
) -> None:
    """The same bridge (the same producer) must carry on once Kafka is back.

    Notifications keep coming before, during and after the outage, so produces are in
    flight when Kafka goes away; the bridge must deliver every one of them and must never
    have been dropped by RabbitMQ (missed heartbeats) while it waited for Kafka.
    """
    events_topic = reader(route.topic)
    bridge = start_bridge()
    sent: list[str] = []
    stop = threading.Event()

    def publish() -> None:
        while not stop.is_set():
            sent.extend(notify_leases(notifier, 5))
            time.sleep(0.05)

    publisher = threading.Thread(target=publish, daemon=True)
    with running(bridge):
        publisher.start()
        try:
            events_topic.read(30)  # mid-stream
            stack.stop("kafka")
            wait_until(lambda: bridge.metrics.retries._value.get() > 0, "a produce retry")
            assert not bridge.health.ready()[0]
            stack.start("kafka")
            time.sleep(2)  # notifications published after Kafka is back, too
        finally:
            stop.set()
            publisher.join(timeout=30)
        ids = read_leases(events_topic, sent)
        wait_until(lambda: bridge.health.ready()[0], "readiness after Kafka returned")
        restarts = bridge.metrics.consumer_restarts.labels("amqp")._value.get()
        reconnects = bridge.metrics.amqp_reconnects._value.get()

    assert set(ids) == set(sent)
    assert (restarts, reconnects) == (0, 0), "RabbitMQ dropped the bridge while it waited"
    # Stopped, it leaves no Kafka client behind (neither the one it replaced nor its last).
    wait_until(
        lambda: not [t for t in threading.enumerate() if route.pool in t.name],
        "the bridge's Kafka client threads to end",
    )
