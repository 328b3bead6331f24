"""Which Kafka offsets may be committed: a record counts as done only when every delivery it
caused is delivered, durably scheduled for retry, or dead-lettered (Contract 3).

Deliveries finish out of order; the committable offset of a partition is the lowest offset
still in progress (or one past the last record seen). Dispatch runs on the event loop, commits
in the consumer thread: a lock keeps the two apart, and every operation is O(1) amortized.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass
class _Partition:
    # [offset, deliveries still open] in offset order; finished ones leave from the left.
    open: deque[list[int]] = field(default_factory=deque)
    by_offset: dict[int, list[int]] = field(default_factory=dict)
    next_offset: int | None = None


class OffsetTracker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._partitions: dict[tuple[str, int], _Partition] = {}
        self._in_progress = 0

    @property
    def in_progress(self) -> int:
        """Records not yet done, over every partition (back-pressure reads this)."""
        return self._in_progress

    def start(self, topic: str, partition: int, offset: int, deliveries: int) -> None:
        """A record was read and will cause ``deliveries`` deliveries (0: done at once)."""
        with self._lock:
            state = self._partitions.setdefault((topic, partition), _Partition())
            if deliveries > 0:
                slot = [offset, deliveries]
                state.open.append(slot)
                state.by_offset[offset] = slot
                self._in_progress += 1
            state.next_offset = max(offset + 1, state.next_offset or 0)

    def finish(self, topic: str, partition: int, offset: int) -> None:
        """One delivery of that record reached a durable end."""
        with self._lock:
            state = self._partitions.get((topic, partition))
            if state is None:  # the partition was revoked meanwhile; its new owner redoes it
                return
            slot = state.by_offset.get(offset)
            if slot is None:
                return
            slot[1] -= 1
            if slot[1] <= 0:
                del state.by_offset[offset]
                self._in_progress -= 1
                while state.open and state.open[0][1] <= 0:
                    state.open.popleft()

    def committable(self) -> dict[tuple[str, int], int]:
        """The offset to commit per partition (Kafka's: the next record to read)."""
        with self._lock:
            result = {}
            for key, state in self._partitions.items():
                if state.open:
                    result[key] = state.open[0][0]
                elif state.next_offset is not None:
                    result[key] = state.next_offset
            return result

    def forget(self, keys: list[tuple[str, int]]) -> None:
        """Partitions revoked in a rebalance: their open records are the new owner's."""
        with self._lock:
            for key in keys:
                state = self._partitions.pop(key, None)
                if state is not None:
                    self._in_progress -= len(state.by_offset)
