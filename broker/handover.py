"""Partitions moving between broker processes: what one gives up and what one takes over.

librdkafka calls the rebalance callbacks inside ``poll()``/``consume()``, on the thread that
polls, and heartbeats from its own thread meanwhile: a callback may block (up to
``max.poll.interval.ms``) and may call the consumer (commit, committed) directly. With the
``cooperative-sticky`` assignor a rebalance revokes only the partitions that move, so the
others' deliveries and reads go on through it.

Giving up (issue 12's graceful revoke): deliveries of the partitions not yet begun never
begin, those in flight get up to ``revoke_grace`` to settle, the progress is written to the
hand-over ledger and what settled is committed synchronously. Should a partition come back,
librdkafka reads it from that commit, which is the first record not settled: nothing
withdrawn is passed over. Each assignment of a partition is a generation of its own
(:meth:`OffsetTracker.assign`): every record handed on carries it, and one read by an earlier
assignment (handed on before a revoke, routed after it) is dropped by the tracker, never
counted in the new one. Taking over: the previous owner's progress is read from the ledger
before any record of the partition is handed on, so that the router skips what it settled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from broker.ledger import Key, Ledger
from broker.offsets import OffsetTracker

log = logging.getLogger(__name__)

COMMIT_TIMEOUT = 5.0  # seconds a committed-offset read may take when taking over


def keys_of(partitions: Iterable[TopicPartition]) -> set[Key]:
    return {(tp.topic, tp.partition) for tp in partitions}


class Handover:
    """The rebalance callbacks of one consumer, and the per-partition state they keep."""

    def __init__(
        self,
        tracker: OffsetTracker,
        ledger: Ledger | None,
        revoke_grace: float,
        closing: threading.Event,
        commit: Callable[[Consumer, set[Key]], None],
        earliest: bool = True,
    ) -> None:
        self.tracker = tracker
        self.ledger = ledger
        self.revoke_grace = revoke_grace
        self.closing = closing
        self.commit = commit
        self.earliest = earliest  # where an assignment without a commit begins
        # Per partition: the offset after the last record handed on, and the offset last
        # committed (or on its way); partitions assigned whose previous owner's progress is
        # still to be read, and partitions revoked since the poll loop last looked (their
        # records in a batch polled before the revoke are dropped: the next owner reads them).
        self.handed: dict[Key, int] = {}
        self.committed: dict[Key, int] = {}
        self.taking_over: set[Key] = set()
        self.revoked: set[Key] = set()
        # The assignment generation of each partition (OffsetTracker.assign): each record
        # handed on carries it, and the router drops one read by an assignment since revoked.
        self.generations: dict[Key, int] = {}
        self.alive_at = time.monotonic()

    def forget_all(self) -> None:
        """A new consumer: every partition starts afresh from Kafka's commit."""
        self.tracker.forget_all()
        if self.ledger is not None:
            self.ledger.forget(list(self.handed))
        self.handed.clear()
        self.committed.clear()
        self.taking_over.clear()
        self.revoked.clear()
        self.generations.clear()

    # --- librdkafka's callbacks (inside poll, on the polling thread) --------------------------

    def on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("assigned partitions %s", sorted(tp.partition for tp in partitions))
        keys = keys_of(partitions)
        self.taking_over |= keys
        self.generations.update(self.tracker.assign(list(keys)))

    def on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.hand_over(consumer, keys_of(partitions), lost=False)

    def on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.hand_over(consumer, keys_of(partitions), lost=True)

    def hand_over(self, consumer: Consumer, keys: set[Key], lost: bool) -> None:
        """Partitions leave this member: let what is in flight for them settle (bounded),
        record and commit what settled, then forget them. What did not settle in time is the
        next owner's to deliver again. ``lost`` (evicted from the group): Kafka takes no
        commit any more, the progress is still recorded."""
        if not keys:
            return
        log.info("revoked partitions %s%s", sorted(p for _, p in keys), " (lost)" * lost)
        self.tracker.withdraw(list(keys))
        self.revoked |= keys
        try:
            if not lost:
                self._settle(keys)
            if self.ledger is not None:
                self.ledger.write(self.tracker.progress(list(keys)), time.monotonic(), True)
            if not lost:
                self.commit(consumer, keys)
        finally:
            self.tracker.forget(list(keys))
            if self.ledger is not None:
                self.ledger.forget(list(keys))
            for key in keys:
                self.handed.pop(key, None)
                self.committed.pop(key, None)
            self.taking_over -= keys
            for key in keys:
                self.generations.pop(key, None)

    def _settle(self, keys: set[Key]) -> None:
        if self.closing.is_set():  # closing: the deliveries had their grace already
            return
        deadline = time.monotonic() + self.revoke_grace
        while not self.tracker.quiet(list(keys), self.handed):
            if time.monotonic() >= deadline:
                log.warning("partitions %s handed over with deliveries still in flight: "
                            "their records are delivered again", sorted(keys))  # fmt: skip
                return
            self.alive_at = time.monotonic()
            time.sleep(0.02)

    # --- on the polling thread, after poll returned ------------------------------------------

    def sort(self, consumer: Consumer, messages: list[Message]) -> list[Message]:
        """The messages of a poll that the current assignment may hand on.

        A partition revoked (or lost) in the poll: its records read before are dropped,
        the next owner reads them. Revoked and assigned back within the one poll: which of
        its records were read before the callbacks and which after is not known, so all
        are dropped and the partition is read again from where the new assignment began
        (the committed offset)."""
        again = self.revoked & self.taking_over
        self.take_over(consumer)
        if not self.revoked:
            return messages
        revoked, self.revoked = self.revoked, set()
        kept, dropped = [], dict[Key, int]()
        for message in messages:
            key = (message.topic() or "", message.partition() or 0)
            if key not in revoked:
                kept.append(message)
            elif key in again:
                offset = message.offset() or 0
                dropped[key] = min(offset, dropped.get(key, offset))
        if dropped:
            self._read_again(consumer, dropped)
        return kept

    def _read_again(self, consumer: Consumer, dropped: dict[Key, int]) -> None:
        # Raises if the commit cannot be read (the coordinator away): the consumer is then
        # rebuilt, and reads every partition from its commit.
        found = consumer.committed([TopicPartition(*key) for key in dropped], COMMIT_TIMEOUT)
        for tp in found:
            key = (tp.topic, tp.partition)
            if tp.offset >= 0:
                start = tp.offset
            elif self.earliest:  # no commit: the assignment began at the log's start
                start = OFFSET_BEGINNING
            else:  # at the log's end, after every record read before (the dropped ones)
                start = dropped[key]
            try:
                consumer.seek(TopicPartition(*key, start))
            except KafkaException as exc:
                # not fetching yet: then the new assignment read nothing, and begins there
                log.info("partition %d not moved back to %d: %s", tp.partition, start, exc)

    def take_over(self, consumer: Consumer) -> None:
        """Read the previous owners' progress of newly assigned partitions (before any of
        their records is handed on, so that the router can skip what was settled)."""
        keys, self.taking_over = self.taking_over, set()
        if self.ledger is None or not keys:
            return
        committed: dict[Key, int | None] = {}
        try:
            found = consumer.committed([TopicPartition(*key) for key in keys], COMMIT_TIMEOUT)
        except KafkaException as exc:  # then it is all delivered again
            log.warning("committed offsets of %s not read: %s", sorted(keys), exc)
            found = []
        for tp in found:
            # librdkafka says "none" with a negative offset (OFFSET_INVALID)
            committed[(tp.topic, tp.partition)] = tp.offset if tp.offset >= 0 else None
        self.ledger.load(committed)
