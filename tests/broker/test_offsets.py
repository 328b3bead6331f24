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
    tracker.assign([("t", 0)])  # ...assigned back
    new = opened(tracker.start("t", 0, 5, 2))  # offset 5 read again, 2 deliveries
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
    tracker.assign([("t", 0)])
    again = opened(tracker.start("t", 0, 3, 1))
    tracker.finish(old)
    assert tracker.committable() == {("t", 0): 3}
    tracker.finish(again)
    tracker.finish(again)  # settled twice by mistake: counted once
    assert tracker.committable() == {("t", 0): 4} and tracker.in_progress == 0


def test_a_withdrawn_partition_starts_no_delivery_and_resumes_at_its_first_unsettled_record() -> (
    None
):
    tracker = OffsetTracker()
    done = opened(tracker.start("t", 0, 10, 1))
    running = tracker.settle(opened(tracker.start("t", 0, 11, 1)))
    queued = tracker.settle(opened(tracker.start("t", 0, 12, 1)))
    tracker.finish(done)
    assert running.begin()

    tracker.withdraw([("t", 0)])
    assert not queued.begin()  # left to the next owner
    assert tracker.start("t", 0, 13, 1) is None  # routed after the withdrawal: passed over
    assert not tracker.quiet([("t", 0)], {("t", 0): 14})  # 11 is being sent
    running()
    running.end()
    assert tracker.quiet([("t", 0)], {("t", 0): 14})
    assert tracker.committable() == {("t", 0): 12}  # 13 was not counted done
    assert tracker.resume_at([("t", 0)]) == {("t", 0): 12}


def test_a_partition_withdrawn_before_any_record_resumes_at_the_first_passed_over() -> None:
    tracker = OffsetTracker()
    tracker.withdraw([("t", 1)])
    assert tracker.start("t", 1, 40, 2) is None
    assert tracker.start("t", 1, 41, 0) is None
    assert tracker.committable() == {}
    assert tracker.resume_at([("t", 1)]) == {("t", 1): 40}


def test_progress_names_the_deliveries_made_of_open_records() -> None:
    tracker = OffsetTracker()
    slot = opened(tracker.start("t", 0, 5, 3, done=["inherited"]))
    tracker.finish(slot, "a")
    tracker.start("t", 0, 6, 0)
    progress = tracker.progress()[("t", 0)]
    assert (progress.first, progress.settled, progress.next) == (5, 5, 7)
    assert progress.still_open == [5]
    assert progress.done == {5: ["inherited", "a"]}


def test_a_record_routed_after_its_partition_was_revoked_is_never_committed() -> None:
    """Routed after the revoke (lost, or the grace ran out with a backlog): passed over, so
    that the partition given back commits nothing before its new assignment's records."""
    tracker = OffsetTracker()
    first = tracker.assign([("t", 0)])[("t", 0)]
    tracker.start("t", 0, 10, 0, generation=first)
    tracker.forget([("t", 0)])
    assert tracker.start("t", 0, 11, 1) is None  # late, no generation known: passed over
    assert tracker.start("t", 0, 12, 0, generation=first) is None
    assert tracker.committable() == {} and tracker.in_progress == 0

    second = tracker.assign([("t", 0)])[("t", 0)]
    assert second != first
    assert tracker.start("t", 0, 13, 0, generation=first) is None  # handed before the revoke
    assert tracker.committable() == {}  # nothing of the new assignment routed yet
    eleven = opened(tracker.start("t", 0, 11, 1, generation=second))
    assert tracker.committable() == {("t", 0): 11}
    tracker.finish(eleven)
    assert tracker.committable() == {("t", 0): 12}
