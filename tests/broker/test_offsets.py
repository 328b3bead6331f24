"""A record is committable only when every delivery it caused is settled."""

from __future__ import annotations

from broker.offsets import OffsetTracker


def test_commit_waits_for_the_oldest_open_record() -> None:
    tracker = OffsetTracker()
    tracker.start("t", 0, 10, 2)
    tracker.start("t", 0, 11, 1)
    tracker.start("t", 0, 12, 0)  # matched nobody: done at once
    assert tracker.committable() == {("t", 0): 10}

    tracker.finish("t", 0, 11)
    tracker.finish("t", 0, 10)
    assert tracker.committable() == {("t", 0): 10}  # one delivery of 10 is still open
    assert tracker.in_progress == 1

    tracker.finish("t", 0, 10)
    assert tracker.committable() == {("t", 0): 13}
    assert tracker.in_progress == 0


def test_partitions_are_independent_and_revoked_ones_are_forgotten() -> None:
    tracker = OffsetTracker()
    tracker.start("t", 0, 5, 1)
    tracker.start("t", 1, 7, 0)
    assert tracker.committable() == {("t", 0): 5, ("t", 1): 8}

    tracker.forget([("t", 0)])
    tracker.finish("t", 0, 5)  # a late delivery of a revoked partition changes nothing
    assert tracker.committable() == {("t", 1): 8}
    assert tracker.in_progress == 0
