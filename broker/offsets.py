"""Which Kafka offsets may be committed: a record counts as done only when every delivery it
caused is delivered, durably scheduled for retry, or dead-lettered (Contract 3).

Deliveries finish out of order; the committable offset of a partition is the lowest offset
still in progress (or one past the last record seen). Dispatch runs on the event loop, commits
in the consumer thread: a lock keeps the two apart, and every operation is O(1) amortized.

Each assignment of a partition is a generation of its own. A delivery holds the
:class:`Slot` of its record, not the offset: one started before a revoke must not settle the
same offset read again after the partition came back (that record's other deliveries may
still be pending, and committing it then would lose them on a crash).
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

Key = tuple[str, int]  # topic, partition


@dataclass(eq=False)
class _Partition:
    generation: int
    # the records with deliveries still open, in offset order; finished ones leave from the left
    open: deque[Slot] = field(default_factory=deque)
    next_offset: int | None = None
    first_offset: int | None = None  # the first record read in this generation
    seen: int = 0  # one past the last record routed (withdrawn ones included)
    withdrawn: bool = False  # being handed over: no delivery of it starts any more
    passed_over: int | None = None  # the first record not started because it was withdrawn
    sending: int = 0  # deliveries of its records under way


@dataclass(eq=False, slots=True)
class Slot:
    """One record of one assignment generation, and how many of its deliveries are open."""

    key: tuple[str, int]
    offset: int
    deliveries: int
    partition: _Partition
    done: list[str] = field(default_factory=list)  # subscriptions whose delivery settled

    @property
    def generation(self) -> int:
        return self.partition.generation


@dataclass(frozen=True, slots=True)
class Progress:
    """One partition's progress in one generation: every record below ``settled`` and every
    one in ``[settled, next)`` but not in ``still_open`` reached a durable end."""

    first: int  # the first offset read (the committed offset when the generation began)
    settled: int
    next: int
    still_open: list[int]
    # of the open records, the subscriptions whose delivery did reach a durable end
    done: dict[int, list[str]] = field(default_factory=dict)


class Settle:
    """What each delivery of a record holds: :meth:`begin` before sending (False: leave
    it), :meth:`end` after, and a call when it reached a durable end."""

    __slots__ = ("slot", "subscription", "tracker")

    def __init__(self, tracker: OffsetTracker, slot: Slot, subscription: str | None) -> None:
        self.tracker, self.slot, self.subscription = tracker, slot, subscription

    def __call__(self) -> None:
        self.tracker.finish(self.slot, self.subscription)

    def begin(self) -> bool:
        return self.tracker.begin(self.slot)

    def end(self) -> None:
        self.tracker.end(self.slot)


class OffsetTracker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._partitions: dict[tuple[str, int], _Partition] = {}
        self._generations = itertools.count(1)
        self._in_progress = 0

    @property
    def in_progress(self) -> int:
        """Records not yet done, over every partition (back-pressure reads this)."""
        return self._in_progress

    def start(
        self,
        topic: str,
        partition: int,
        offset: int,
        deliveries: int,
        done: Iterable[str] = (),
        generation: int | None = None,
    ) -> Slot | None:
        """A record was read and will cause ``deliveries`` deliveries (0: done at once);
        ``done``: those its previous owner made already (kept for the next one);
        ``generation``: the assignment that read it (:meth:`assign`), if known.

        Returns the slot each of those deliveries hands to :meth:`finish`.
        """
        key = (topic, partition)
        with self._lock:
            state = self._partitions.get(key)
            if generation is not None and (state is None or state.generation != generation):
                return None  # read by an assignment since revoked: the current one reads it
            if state is None:
                state = self._partitions[key] = _Partition(next(self._generations))
            state.seen = max(offset + 1, state.seen)
            if state.withdrawn:  # neither delivered nor counted done: the next owner reads it
                state.passed_over = (
                    offset if state.passed_over is None else min(offset, state.passed_over)
                )
                return None
            state.next_offset = max(offset + 1, state.next_offset or 0)
            if state.first_offset is None:
                state.first_offset = offset
            if deliveries <= 0:
                return None
            slot = Slot(key, offset, deliveries, state, list(done))
            state.open.append(slot)
            self._in_progress += 1
            return slot

    def settle(self, slot: Slot, subscription: str | None = None) -> Settle:
        return Settle(self, slot, subscription)

    def begin(self, slot: Slot) -> bool:
        """A delivery of the slot's record is about to start: False if its partition is
        being handed over (or was), so that it is left to the next owner."""
        with self._lock:
            state = self._partitions.get(slot.key)
            if state is not slot.partition or state.withdrawn:
                return False
            state.sending += 1
            return True

    def end(self, slot: Slot) -> None:
        with self._lock:
            slot.partition.sending -= 1

    def withdraw(self, keys: list[Key]) -> None:
        """These partitions are being handed over: deliveries not yet begun never begin,
        and records routed from now on are passed over."""
        with self._lock:
            for key in keys:
                state = self._partitions.get(key)
                if state is None:
                    state = self._partitions[key] = _Partition(next(self._generations))
                state.withdrawn = True

    def resume_at(self, keys: list[Key]) -> dict[Key, int]:
        """Where reading must go on from, per partition, to miss nothing left undone."""
        committable = self.committable()
        with self._lock:
            result = {}
            for key in keys:
                state = self._partitions.get(key)
                points = [committable.get(key), None if state is None else state.passed_over]
                known = [point for point in points if point is not None]
                if known:
                    result[key] = min(known)
            return result

    def quiet(self, keys: list[Key], handed: dict[Key, int]) -> bool:
        """Whether every record handed on of these partitions was routed, and no delivery
        of them is under way."""
        with self._lock:
            for key in keys:
                state = self._partitions.get(key)
                if state is None:
                    if handed.get(key) is not None:
                        return False
                elif state.sending > 0 or state.seen < handed.get(key, 0):
                    return False
            return True

    def finish(self, slot: Slot, subscription: str | None = None) -> None:
        """One delivery of that record (to ``subscription``) reached a durable end."""
        with self._lock:
            state = self._partitions.get(slot.key)
            if state is not slot.partition or slot.deliveries <= 0:
                return  # an older generation (revoked since), or settled twice: nothing to do
            slot.deliveries -= 1
            if subscription is not None and slot.deliveries > 0:
                slot.done.append(subscription)
            if slot.deliveries == 0:
                self._in_progress -= 1
                while state.open and state.open[0].deliveries <= 0:
                    state.open.popleft()

    def committable(self) -> dict[tuple[str, int], int]:
        """The offset to commit per partition (Kafka's: the next record to read)."""
        with self._lock:
            result = {}
            for key, state in self._partitions.items():
                if state.open:
                    result[key] = state.open[0].offset
                elif state.next_offset is not None:
                    result[key] = state.next_offset
            return result

    def progress(self, keys: list[Key] | None = None) -> dict[Key, Progress]:
        """What each partition (or those of ``keys``) has settled, for the ledger.

        Only the open records are copied under the lock (the event loop waits for it on
        every delivery); their state is read after. That is still true when read: a
        delivery counts as settled, and a subscription is named done, only once durable,
        and records read since are past ``next``."""
        with self._lock:
            chosen = (
                self._partitions.items()
                if keys is None
                else ((key, self._partitions[key]) for key in keys if key in self._partitions)
            )
            taken = [
                (key, state.first_offset, state.next_offset, list(state.open))
                for key, state in chosen
                if state.first_offset is not None and state.next_offset is not None
            ]
        result = {}
        for key, first, ends, open_slots in taken:
            assert first is not None and ends is not None
            slots = [slot for slot in open_slots if slot.deliveries > 0]
            still_open = [slot.offset for slot in slots]
            settled = still_open[0] if still_open else ends
            done = {slot.offset: list(slot.done) for slot in slots if slot.done}
            result[key] = Progress(first, settled, ends, still_open, done)
        return result

    def assign(self, keys: list[Key]) -> dict[Key, int]:
        """Partitions assigned: each starts a new generation (returned), whatever an earlier
        assignment of it left."""
        with self._lock:
            for key in keys:
                self._drop(key)
                self._partitions[key] = _Partition(next(self._generations))
            return {key: self._partitions[key].generation for key in keys}

    def forget(self, keys: list[tuple[str, int]]) -> None:
        """Partitions revoked in a rebalance: their open records are the new owner's. A
        withdrawn tombstone stays until :meth:`assign`: a record of theirs routed late is
        passed over, not tracked (and committed) in a generation of its own."""
        with self._lock:
            for key in keys:
                self._drop(key)
                self._partitions[key] = _Partition(next(self._generations), withdrawn=True)

    def _drop(self, key: Key) -> None:
        state = self._partitions.pop(key, None)
        if state is not None:
            self._in_progress -= sum(1 for slot in state.open if slot.deliveries > 0)

    def forget_all(self) -> None:
        """Every partition (the consumer was rebuilt: its assignment starts afresh)."""
        with self._lock:
            keys = list(self._partitions)
        self.forget(keys)
