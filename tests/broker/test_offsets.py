"""A record is committable only when every delivery it caused is settled, in the assignment
generation that read it."""

from __future__ import annotations

from broker.offsets import OffsetTracker, Slot


def opened(slot: Slot | None) -> Slot:
    assert slot is not None
    return slot


def test_commit_waits_for_the_oldest_open_record() -> None:
    tracker = OffsetTracker()
    ten = opened(tracker.start("t", 0, 10, 2))
    eleven = opened(tracker.start("t", 0, 11, 1))
    assert tracker.start("t", 0, 12, 0) is None  # matched nobody: done at once
    assert tracker.committable() == {("t", 0): 10}

    tracker.finish(eleven)
    tracker.finish(ten)
    assert tracker.committable() == {("t", 0): 10}  # one delivery of 10 is still open
    assert tracker.in_progress == 1

    tracker.finish(ten)
    assert tracker.committable() == {("t", 0): 13}
    assert tracker.in_progress == 0


def test_partitions_are_independent_and_revoked_ones_are_forgotten() -> None:
    tracker = OffsetTracker()
    five = opened(tracker.start("t", 0, 5, 1))
    tracker.start("t", 1, 7, 0)
    assert tracker.committable() == {("t", 0): 5, ("t", 1): 8}

    tracker.forget([("t", 0)])
    tracker.finish(five)  # a late delivery of a revoked partition changes nothing
    assert tracker.committable() == {("t", 1): 8}
    assert tracker.in_progress == 0


def test_a_delivery_started_before_a_rebalance_cannot_settle_the_reassigned_record() -> None:
    tracker = OffsetTracker()
    old = opened(tracker.start("t", 0, 5, 1))  # generation 1: one delivery in flight
    tracker.forget([("t", 0)])  # revoked...
    new = opened(tracker.start("t", 0, 5, 2))  # ...assigned back: offset 5 read again, 2 deliveries
    assert new.generation != old.generation
    tracker.finish(old)  # the old delivery ends late
    tracker.finish(new)  # one of the new two
    assert tracker.committable() == {("t", 0): 5}  # the other is still open
    assert tracker.in_progress == 1
    tracker.finish(new)
    assert tracker.committable() == {("t", 0): 6}


def test_a_rebuilt_consumer_starts_every_partition_afresh() -> None:
    tracker = OffsetTracker()
    old = opened(tracker.start("t", 0, 3, 1))
    tracker.start("t", 1, 9, 0)
    tracker.forget_all()
    assert tracker.committable() == {} and tracker.in_progress == 0
    again = opened(tracker.start("t", 0, 3, 1))
    tracker.finish(old)
    assert tracker.committable() == {("t", 0): 3}
    tracker.finish(again)
    tracker.finish(again)  # settled twice by mistake: counted once
    assert tracker.committable() == {("t", 0): 4} and tracker.in_progress == 0
