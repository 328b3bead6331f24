"""Partitions moving between two consumers of one group, on real Kafka: the one given up
waits for its deliveries in flight (up to ``revoke_grace``) and commits what settled, so its
next owner repeats nothing; what did not settle in time is read again, never skipped."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import cast

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from hypothesis import given, settings
from hypothesis import strategies as st

from blazar_events.settings import KafkaSettings
from broker.consumer import KafkaSource, Record
from broker.offsets import OffsetTracker, Slot
from broker.settings import BrokerSettings
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


class ScriptedConsumer:
    """A stand-in for librdkafka's consumer (pure logic: the order of the callbacks inside
    one poll is what matters). Partition 0 of topic "t" holds offsets 0 to END - 1; each
    step of the script is one poll: callbacks before its first record (served by ``poll``),
    callbacks after it (served by ``consume``), and how many records it returns at most.
    An assignment starts reading at the committed offset, as librdkafka's does; "route" in
    a step lets a lagging event loop route what was handed to it, "settle" lets it settle
    the delivery routed last, and "settle-all" every one."""

    END = 12

    def __init__(self, source: KafkaSource, script: list[tuple[str, str, int]]) -> None:
        self.source, self.script = source, script
        self.at = self.committed_at = 0
        self.assigned: list[TopicPartition] = []
        self.commits: list[int] = []
        self.callbacks: dict[str, Callable[..., None]] = {}
        self.step: tuple[str, str, int] = ("", "", 0)
        self.loop: dict[str, Callable[[], None]] = {}  # what a lagging event loop does

    def subscribe(self, topics: list[str], **callbacks: Callable[..., None]) -> None:
        self.callbacks = callbacks

    def _serve(self, events: str) -> None:
        partitions = [TopicPartition("t", 0)]
        for event in events.split():
            if event in self.loop:
                self.loop[event]()
            elif event == "assign" and not self.assigned:
                self.assigned, self.at = partitions, self.committed_at
                self.callbacks["on_assign"](self, partitions)
            elif event in ("revoke", "lost") and self.assigned:
                if event == "lost":  # evicted: no commit is taken any more
                    self.assigned = []
                self.callbacks[f"on_{event}"](self, partitions)
                self.assigned = []

    def _read(self, count: int) -> list[Message]:
        if not self.assigned:  # (librdkafka drops what was fetched for a revoked partition)
            return []
        offsets = range(self.at, min(self.END, self.at + count))
        self.at += len(offsets)
        return [Message(topic="t", partition=0, offset=n, value=b"%d" % n) for n in offsets]

    def poll(self, timeout: float) -> Message | None:
        if not self.script:
            self.source._closing.set()
            return None
        self.step = self.script.pop(0)
        self._serve(self.step[0])
        return next(iter(self._read(min(1, self.step[2]))), None)

    def consume(self, count: int, timeout: float) -> list[Message]:
        self._serve(self.step[1])
        return self._read(min(count, self.step[2] - 1))

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [TopicPartition("t", 0, self.committed_at) for _ in partitions]

    def seek(self, partition: TopicPartition) -> None:
        self.at = partition.offset

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        [tp] = offsets
        if self.assigned:
            self.committed_at = tp.offset
            self.commits.append(tp.offset)

    def assignment(self) -> list[TopicPartition]:
        return self.assigned

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition("t", 0, self.at) for _ in partitions]

    def get_watermark_offsets(self, partition: TopicPartition, cached: bool) -> tuple[int, int]:
        return 0, self.END

    def pause(self, partitions: list[TopicPartition]) -> None: ...

    def resume(self, partitions: list[TopicPartition]) -> None: ...

    def close(self) -> None: ...


def test_a_partition_lost_and_assigned_back_within_one_poll_loses_no_record() -> None:
    """Lost (a Kafka restart) and given back inside one poll, after a record of the old
    assignment was read in that poll: no record of the new assignment is passed over, and
    no commit passes a record that was not routed."""
    tracker = OffsetTracker()
    routed: list[int] = []
    commits_past: list[tuple[int, list[int]]] = []

    def deliver(records: list[Record]) -> None:
        for record in records:
            slot = tracker.start(
                record.topic, record.partition, record.offset, 1, generation=record.generation
            )
            if slot is not None:
                routed.append(record.offset)
                tracker.finish(slot)

    kafka = KafkaSettings.load(bootstrap_servers=["127.0.0.1:1"], topic="t")
    settings = BrokerSettings.load(commit_interval=0.0, group_id=unique_name("scripted"))
    source = KafkaSource(kafka, settings, tracker, deliver)
    fake = ScriptedConsumer(
        source,
        [
            ("assign", "", 8),  # offsets 0-7, routed and settled: committed 8
            ("", "lost assign", 3),  # 8 of the old assignment, then 8 and 9 of the new one
            ("", "", 4),
            ("", "", 4),
        ],
    )
    source._new_consumer = lambda: cast(Consumer, fake)  # type: ignore[method-assign]
    original = fake.commit

    def commit(offsets: list[TopicPartition], asynchronous: bool) -> None:
        past = [n for n in range(offsets[0].offset) if n not in routed]
        if past:
            commits_past.append((offsets[0].offset, past))
        original(offsets, asynchronous)

    fake.commit = commit  # type: ignore[method-assign]
    source.consume()

    assert commits_past == [], "committed past records never routed"
    assert set(routed) == set(range(ScriptedConsumer.END))
    assert fake.committed_at == ScriptedConsumer.END


EVENTS = st.sampled_from(["", "route", "settle", "route settle", "lost", "revoke", "assign",
                          "lost assign", "revoke assign", "route lost assign",
                          "lost route assign", "lost assign route"])  # fmt: skip
STEPS = st.lists(st.tuples(EVENTS, EVENTS, st.integers(0, 5)), max_size=14)


@settings(max_examples=400, deadline=None)
@given(script=STEPS)
def test_no_order_of_rebalance_callbacks_and_reads_commits_a_record_not_settled(
    script: list[tuple[str, str, int]],
) -> None:
    """Generated polls: partitions lost, revoked and assigned back before or amid a poll's
    reads, and an event loop that routes what it was handed late and settles out of order.
    No commit passes a record whose delivery did not settle, and once assigned for good
    every record is settled and committed."""
    tracker = OffsetTracker()
    settled: set[int] = set()
    commits_past: list[tuple[int, list[int]]] = []
    handed: list[Record] = []
    open_slots: list[Slot] = []

    def route() -> None:
        for record in handed:
            slot = tracker.start(
                record.topic, record.partition, record.offset, 1, generation=record.generation
            )
            if slot is not None:
                open_slots.append(slot)
        handed.clear()

    def settle(count: int) -> None:
        for _ in range(min(count, len(open_slots))):
            slot = open_slots.pop()  # the last routed first: out of order
            settled.add(slot.offset)
            tracker.finish(slot)

    kafka = KafkaSettings.load(bootstrap_servers=["127.0.0.1:1"], topic="t")
    broker = BrokerSettings.load(commit_interval=0.0, revoke_grace=0.0, group_id="scripted")
    source = KafkaSource(kafka, broker, tracker, handed.extend)
    end = ScriptedConsumer.END
    final = "route settle-all"
    fake = ScriptedConsumer(source, [*script, ("route assign", final, end), (final, final, end)])
    fake.loop = {"route": route, "settle": lambda: settle(1), "settle-all": lambda: settle(end * 4)}
    source._new_consumer = lambda: cast(Consumer, fake)  # type: ignore[method-assign]
    original = fake.commit

    def commit(offsets: list[TopicPartition], asynchronous: bool) -> None:
        past = [n for n in range(offsets[0].offset) if n not in settled]
        if past and fake.assigned:
            commits_past.append((offsets[0].offset, past))
        original(offsets, asynchronous)

    fake.commit = commit  # type: ignore[method-assign]
    source.consume()

    assert commits_past == [], "committed past records not settled"
    assert settled == set(range(end))
    assert fake.committed_at == end
