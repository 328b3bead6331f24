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
from dataclasses import dataclass, field


@dataclass(eq=False)
class _Partition:
    generation: int
    # the records with deliveries still open, in offset order; finished ones leave from the left
    open: deque[Slot] = field(default_factory=deque)
    next_offset: int | None = None


@dataclass(eq=False, slots=True)
class Slot:
    """One record of one assignment generation, and how many of its deliveries are open."""

    key: tuple[str, int]
    offset: int
    deliveries: int
    partition: _Partition

    @property
    def generation(self) -> int:
        return self.partition.generation


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

    def start(self, topic: str, partition: int, offset: int, deliveries: int) -> Slot | None:
        """A record was read and will cause ``deliveries`` deliveries (0: done at once).

        Returns the slot each of those deliveries hands to :meth:`finish`.
        """
        key = (topic, partition)
        with self._lock:
            state = self._partitions.get(key)
            if state is None:
                state = self._partitions[key] = _Partition(next(self._generations))
            state.next_offset = max(offset + 1, state.next_offset or 0)
            if deliveries <= 0:
                return None
            slot = Slot(key, offset, deliveries, state)
            state.open.append(slot)
            self._in_progress += 1
            return slot

    def finish(self, slot: Slot) -> None:
        """One delivery of that record reached a durable end."""
        with self._lock:
            state = self._partitions.get(slot.key)
            if state is not slot.partition or slot.deliveries <= 0:
                return  # an older generation (revoked since), or settled twice: nothing to do
            slot.deliveries -= 1
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

    def forget(self, keys: list[tuple[str, int]]) -> None:
        """Partitions revoked in a rebalance: their open records are the new owner's."""
        with self._lock:
            for key in keys:
                state = self._partitions.pop(key, None)
                if state is not None:
                    self._in_progress -= sum(1 for slot in state.open if slot.deliveries > 0)

    def forget_all(self) -> None:
        """Every partition (the consumer was rebuilt: its assignment starts afresh)."""
        with self._lock:
            keys = list(self._partitions)
        self.forget(keys)
