"""What the stand-in dispatcher may commit: per partition, the first offset not yet settled.

Deliveries finish out of order (several are in flight at once), so the committed offset is
the first one still unsettled, as Knative's unordered dispatcher tracks it. What is settled
beyond it travels with the commit as its metadata (Kafka keeps a string per committed
offset), so that the next reader of the partition (this process after a rebalance, or after
a restart) skips what was already answered instead of sending it again.
"""

from __future__ import annotations

import threading

# Kafka's default offset.metadata.max.bytes is 4096; offsets that do not fit are not
# recorded, and are sent again by the next reader (a repeat, never a loss).
MAX_METADATA = 4000


def to_metadata(base: int, settled: list[int]) -> str:
    """Settled offsets beyond ``base`` as ascending gaps: "3,1,7" is base+3, base+4, base+11."""
    parts: list[str] = []
    size, last = 0, base
    for offset in sorted(settled):
        part = str(offset - last)
        if size + len(part) + 1 > MAX_METADATA:
            break
        parts.append(part)
        size += len(part) + 1
        last = offset
    return ",".join(parts)


def from_metadata(base: int, metadata: str | None) -> set[int]:
    """The offsets :func:`to_metadata` wrote; anything unreadable reads as nothing settled."""
    out: set[int] = set()
    last = base
    for part in (metadata or "").split(","):
        if not part.isdigit():
            return out
        last += int(part)
        out.add(last)
    return out


class Partition:
    """One partition's records since this process began reading it."""

    def __init__(self, skip: set[int], floor: int = -1) -> None:
        self.pending: dict[int, bool] = {}  # offset -> settled; in the order read (ascending)
        self.after = -1  # the offset after the last one read
        self.skip = skip  # settled by an earlier reader (from the commit's metadata)
        self.floor = floor  # every offset below it was settled by this process
        self.committed: tuple[int, str] | None = None

    def settled(self) -> tuple[int, set[int]]:
        """(floor, offsets settled beyond it): what this process knows it answered."""
        first = next((o for o, done in self.pending.items() if not done), self.after)
        beyond = {o for o, done in self.pending.items() if done and o > first}
        return max(first, self.floor), beyond | {o for o in self.skip if o > first}

    def commit_point(self) -> tuple[int, str] | None:
        """(offset to commit, metadata), or None before anything was read."""
        while self.pending:
            first = next(iter(self.pending))
            if not self.pending[first]:
                settled = [o for o, done in self.pending.items() if done]
                settled += [o for o in self.skip if o > first]
                return first, to_metadata(first, settled)
            del self.pending[first]
        if self.after < 0:
            return None
        return self.after, to_metadata(self.after, [o for o in self.skip if o > self.after])


class Offsets:
    """The tracker for every partition this process owns; thread-safe (workers settle).

    What this process settled in a partition it gave up is remembered, so that getting it
    back (a Kafka restart makes the group rejoin, and the commits made while Kafka was away
    failed) skips those records too.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.partitions: dict[int, Partition] = {}
        self.remembered: dict[int, tuple[int, set[int]]] = {}

    def assign(self, partition: int, committed: int, metadata: str | None) -> None:
        with self.lock:
            skip = from_metadata(committed, metadata)
            floor, settled = self.remembered.pop(partition, (-1, set()))
            self.partitions[partition] = Partition(
                skip | {o for o in settled if o >= committed}, floor
            )

    def revoke(self, partition: int) -> None:
        with self.lock:
            state = self.partitions.pop(partition, None)
            if state is not None and state.after >= 0:
                self.remembered[partition] = state.settled()

    def read(self, partition: int, offset: int) -> bool:
        """Record a record as read; False if an earlier reader settled it already."""
        with self.lock:
            state = self.partitions.setdefault(partition, Partition(set()))
            state.after = offset + 1
            done = offset in state.skip or offset < state.floor
            state.skip.discard(offset)
            state.pending[offset] = done  # kept settled: later commits still name it
            return not done

    def settle(self, partition: int, offset: int) -> None:
        with self.lock:
            state = self.partitions.get(partition)
            if state is not None and offset in state.pending:
                state.pending[offset] = True

    def due(self, partitions: list[int] | None = None) -> dict[int, tuple[int, str]]:
        """What changed since the last commit, per partition (all, or those named)."""
        out: dict[int, tuple[int, str]] = {}
        with self.lock:
            for number, state in self.partitions.items():
                if partitions is not None and number not in partitions:
                    continue
                point = state.commit_point()
                if point is not None and point != state.committed:
                    out[number] = point
        return out

    def committed(self, points: dict[int, tuple[int, str]]) -> None:
        with self.lock:
            for number, point in points.items():
                if number in self.partitions:
                    self.partitions[number].committed = point
