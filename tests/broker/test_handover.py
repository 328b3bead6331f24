"""Partitions moving between two consumers of one group, on real Kafka: the one given up
waits for its deliveries in flight (up to ``revoke_grace``) and commits what settled, so its
next owner repeats nothing; what did not settle in time is read again, never skipped."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker.conftest import RunningSource, send
from tests.conftest import unique_name


@pytest.fixture
def topic(kafka_bootstrap: str) -> Iterator[str]:
    name = unique_name("blazar.events.handover")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(name, 2, 1)])[name].result(30)
    yield name
    admin.delete_topics([name])[name].result(30)


def fill(kafka_bootstrap: str, topic: str, first: RunningSource, count: int = 3) -> Producer:
    """``count`` records on each partition, read by ``first``; all settled but offset 1,
    whose delivery is under way (begun, not ended)."""
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for partition in (0, 1):
        for n in range(count):
            send(producer, topic, b"%d-%d" % (partition, n), partition=partition)
    first.wait_for(2 * count)
    for partition in (0, 1):
        for n in range(count):
            if n == 1:
                assert first.settle_of[(partition, n)].begin()
            else:
                first.settle_of[(partition, n)]()
    return producer


def until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_partition_given_up_lets_its_delivery_settle_and_its_next_owner_repeats_nothing(
    kafka_bootstrap: str, topic: str, running: Callable[..., RunningSource]
) -> None:
    group = unique_name("handover")
    first = running(topic, group_id=group, revoke_grace=30.0)
    producer = fill(kafka_bootstrap, topic, first)
    second = running(topic, group_id=group, revoke_grace=30.0)
    handover = first.source.handover
    until(lambda: bool(handover.revoked), "the first consumer giving up a partition")
    time.sleep(1.0)
    assert handover.revoked, "the hand-over waits for the delivery in flight"
    # (cooperative-sticky: the first consumer keeps the other partition meanwhile)
    for partition in (0, 1):  # the deliveries in flight end, within the grace
        first.settle_of[(partition, 1)]()
        first.settle_of[(partition, 1)].end()

    until(lambda: not handover.revoked, "the hand-over done")
    for partition in (0, 1):
        send(producer, topic, b"%d-3" % partition, partition=partition)
    until(lambda: len(first.records) == 7 and len(second.records) >= 1, "the two new records")
    time.sleep(1.0)  # a repeat on its way arrives
    moved = {r.partition for r in second.records}
    assert len(moved) == 1, "the second consumer took exactly one partition"
    # The partition moved: read on from the first record after those settled, no repeat.
    assert [(r.partition, r.offset) for r in second.records] == [(*moved, 3)]
    # The partition kept was never given up: read once, on the first consumer only.
    kept = [(r.partition, r.offset) for r in first.records if r.partition not in moved]
    assert kept == [(kept[0][0], n) for n in range(4)]


def test_a_delivery_still_in_flight_when_the_grace_ends_is_read_again_by_the_next_owner(
    kafka_bootstrap: str, topic: str, running: Callable[..., RunningSource]
) -> None:
    group = unique_name("handover")
    first = running(topic, group_id=group, revoke_grace=1.0)
    fill(kafka_bootstrap, topic, first)  # offset 1 of each partition never settles
    second = running(topic, group_id=group, revoke_grace=1.0)

    until(lambda: len(second.records) >= 2, "the moved partition read again")
    [moved] = {r.partition for r in second.records}
    # From the record in flight on: nothing skipped (offset 2 settled after it, and
    # without the hand-over ledger it is delivered again: at-least-once).
    assert [r.offset for r in second.records] == [1, 2]
    assert all(r.value == b"%d-%d" % (moved, r.offset) for r in second.records)
