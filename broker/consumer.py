"""The broker's one Kafka consumer (kafka-python), in a thread of its own.

kafka-python blocks, so it polls in this thread and hands each batch to the event loop.
Offsets are committed here, and only up to what :class:`OffsetTracker` says is settled;
``enable_auto_commit`` is off. When too many records are in progress the assignment is
paused (back-pressure), and resumed once they settle.

A consumer that stays out of a stable group for ``rejoin_after`` seconds is closed and built
again. kafka-python 3.0 was seen to stall there: after a rebalance the elected leader's
SyncGroup never completed, the member consumed nothing and Kafka answered every commit with
RebalanceInProgress, for minutes (bench/delivery/RESULTS.md). A fresh member recovers; what
was in progress is redelivered from the last commit (at-least-once).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kafka import AsyncConsumerRebalanceListener, KafkaConsumer
from kafka.structs import MemberState, OffsetAndMetadata, TopicPartition

from blazar_events.settings import KafkaSettings
from broker.ledger import Key, Ledger
from broker.offsets import OffsetTracker
from broker.settings import BrokerSettings

log = logging.getLogger(__name__)

Batch = list[Any]  # kafka-python ConsumerRecords
REVOKE_COMMIT_TIMEOUT_MS = 5000


class _Rebalance(AsyncConsumerRebalanceListener):
    # kafka-python runs these on its IO thread, where a blocking consumer call would deadlock:
    # they await kafka-python's own coroutines instead (heartbeats go on meanwhile).
    def __init__(self, source: KafkaSource) -> None:
        self.source = source

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.source.hand_over(revoked, lost=False)

    async def on_partitions_lost(self, lost: Any) -> None:
        await self.source.hand_over(lost, lost=True)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("assigned partitions %s", sorted(tp.partition for tp in assigned))
        self.source.taking_over |= {(tp.topic, tp.partition) for tp in assigned}


class GroupWatch:
    """Says when a consumer has been out of a stable group for too long; pure."""

    def __init__(self, rejoin_after: float) -> None:
        self.rejoin_after = rejoin_after
        self._unstable_since: float | None = None

    def stalled(self, stable: bool, now: float) -> bool:
        if stable:
            self._unstable_since = None
            return False
        if self._unstable_since is None:
            self._unstable_since = now
        return now - self._unstable_since > self.rejoin_after


def in_stable_group(consumer: KafkaConsumer) -> bool:
    """Whether kafka-python's coordinator says this member is joined and synced.

    kafka-python has no public call for this; a version without the attribute counts as
    stable (the watchdog then never fires, as before it existed).
    """
    state = getattr(getattr(consumer, "_coordinator", None), "state", None)
    return state is None or state == MemberState.STABLE


class KafkaSource:
    """Polls and commits in the thread that runs :meth:`consume` (a supervised task)."""

    def __init__(
        self,
        kafka: KafkaSettings,
        settings: BrokerSettings,
        tracker: OffsetTracker,
        deliver: Callable[[Batch], None],
        topic: str | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.kafka = kafka
        self.settings = settings
        self.tracker = tracker
        self.deliver = deliver
        self.topic = topic or kafka.topic
        self.lag = 0
        self.rebuilt = 0  # consumers rebuilt after a stalled rebalance
        self.error: str | None = None
        self.alive_at = time.monotonic()
        self._polling = threading.Event()
        self._polling.set()
        self._closing = threading.Event()
        self._closed = threading.Event()
        self._closed.set()  # nothing runs until consume()
        self._consumer: KafkaConsumer | None = None
        self.ledger = ledger
        # Per partition: the offset after the last record handed to ``deliver``, and the
        # offset last committed. Partitions assigned whose previous owner's progress is still
        # to be read (set on kafka-python's IO thread, taken in the polling one).
        self.handed: dict[Key, int] = {}
        self._committed: dict[Key, int] = {}
        self.taking_over: set[Key] = set()

    def consume(self) -> None:
        """Poll until :meth:`close`; raises if the consumer fails (its task restarts it)."""
        self._closed.clear()
        self.error = None
        # A new member starts a new generation of every partition: what the previous one
        # left in progress is redelivered from the last commit, not settled by old jobs.
        self._forget_all()
        try:
            while not self._closing.is_set():
                self._consumer = self._new_consumer()
                self._consumer.subscribe([self.topic], listener=_Rebalance(self))
                self._wait_for_topic(self._consumer)
                if not self._loop(self._consumer):
                    break
                log.warning(
                    "the consumer was out of a stable group for %.0f s: rebuilding it",
                    self.settings.rejoin_after,
                )
                self.rebuilt += 1
                self._consumer.close(autocommit=False)
                self._forget_all()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            if self._consumer is not None:
                with contextlib.suppress(Exception):
                    self._consumer.close(autocommit=False)
            raise
        finally:
            self._consumer = None
            self._closed.set()

    def _forget_all(self) -> None:
        self.tracker.forget_all()
        if self.ledger is not None:
            self.ledger.forget(list(self.handed))
        self.handed.clear()
        self._committed.clear()
        self.taking_over.clear()

    def _new_consumer(self) -> KafkaConsumer:
        session_ms = int(self.settings.session_timeout * 1000)
        return KafkaConsumer(
            **self.kafka.client_options(),
            group_id=self.settings.group_id,
            enable_auto_commit=False,
            auto_offset_reset=self.settings.auto_offset_reset,
            max_poll_records=500,
            # A topic created after the broker started is picked up within seconds.
            metadata_max_age_ms=5000,
            # Group commit, no fixed wait: Kafka answers a fetch as soon as one record is
            # there, and what arrives while that answer is read and handed over makes the
            # next fetch (kafka-python sends it before returning the records). An idle
            # fetch is held up to `fetch_wait`, a long poll that a new record ends at once.
            # (fetch_min_bytes=64 KiB with a 5 ms wait added those 5 ms to every event.)
            # The price: at a steady few hundred records/s that is about a fetch per record
            # again, which cost Kafka ~30 % of a core at 500/s (bench/delivery/RESULTS.md).
            # Why not longer: kafka-python leaves partitions that still have records
            # buffered out of a fetch, and sends no second fetch while one is held, so a
            # partition with a backlog can wait behind a fetch for idle ones that long.
            fetch_min_bytes=1,
            fetch_max_wait_ms=max(1, int(self.settings.fetch_wait * 1000)),
            # A killed process's partitions move after the session timeout. The loop polls
            # every 100 ms whatever the deliveries do, so a rebalance need not wait the
            # default 5 minutes for a member: one minute bounds a stuck one.
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(1000, session_ms // 3),
            max_poll_interval_ms=60_000,
        )

    def _wait_for_topic(self, consumer: KafkaConsumer) -> None:
        """Until the subscribed topic's metadata is in, before the first poll joins the group.

        A member that joined before the topic existed got no partition for minutes
        (kafka-python 3.0). One that joined before its own metadata update had arrived was
        assigned from a stale snapshot and rebalanced again a moment later, and a rebalance
        is where kafka-python can stall (see above): ``topics()`` fetches fresh metadata,
        which also refreshes the coordinator's snapshot.
        """
        waited = 0.0
        while not self._closing.is_set():
            if self.topic in consumer.topics() and consumer.partitions_for_topic(self.topic):
                return
            if waited % 30 == 0:
                log.warning("waiting for Kafka topic %s to exist", self.topic)
            self.alive_at = time.monotonic()
            time.sleep(0.5)
            waited += 0.5

    def _loop(self, consumer: KafkaConsumer) -> bool:
        """Poll until closing (False) or until the group stalls (True: rebuild)."""
        last_commit = time.monotonic()
        paused = False
        watch = GroupWatch(self.settings.rejoin_after)
        while not self._closing.is_set():
            self.alive_at = time.monotonic()
            if watch.stalled(in_stable_group(consumer), self.alive_at):
                return True
            busy = self.tracker.in_progress >= self.settings.max_pending_records
            if busy or not self._polling.is_set():
                # Every iteration: a rebalance may have assigned partitions since the pause
                # (a broker stopping took over a leaving member's partitions, and read them).
                unpaused = consumer.assignment() - consumer.paused()
                if unpaused:
                    consumer.pause(*unpaused)
                paused = True
            elif paused:
                consumer.resume(*consumer.paused())
                paused = False
            batch = consumer.poll(timeout_ms=100)
            if self.taking_over:
                self._take_over(consumer)
            if batch:
                records = []
                for tp, partition_records in batch.items():
                    if partition_records:
                        self.handed[(tp.topic, tp.partition)] = partition_records[-1].offset + 1
                        records.extend(partition_records)
                self.deliver(records)
            now = time.monotonic()
            if now - last_commit >= self.settings.commit_interval:
                self.commit()
                self._measure_lag(consumer)
                last_commit = now
            if self.ledger is not None and self.ledger.due(now):
                assigned = [(tp.topic, tp.partition) for tp in consumer.assignment()]
                self.ledger.write(self.tracker.progress(assigned), now)
        self.commit()
        consumer.close(autocommit=False)
        return False

    def _offsets(self, keys: set[Key]) -> dict[TopicPartition, OffsetAndMetadata]:
        """What may be committed of these partitions and was not yet."""
        return {
            TopicPartition(*key): OffsetAndMetadata(offset, "", -1)
            for key, offset in self.tracker.committable().items()
            if key in keys and self._committed.get(key) != offset
        }

    def commit(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        offsets = self._offsets({(tp.topic, tp.partition) for tp in consumer.assignment()})
        if not offsets:
            return
        try:
            consumer.commit(offsets)
        except Exception as exc:  # a rebalance in progress; the next commit catches up
            log.warning("offset commit failed: %s", exc)
            return
        self._committed.update({(tp.topic, tp.partition): o.offset for tp, o in offsets.items()})

    # --- partitions moving (on kafka-python's IO thread) ---------------------------------------

    async def hand_over(self, partitions: Any, lost: bool) -> None:
        """Partitions leave this member: let what is in flight for them settle (bounded),
        record and commit what settled, then forget them. What did not settle in time is the
        next owner's to deliver again. ``lost`` (evicted from the group): Kafka takes no
        commit any more, the progress is still recorded."""
        keys = {(tp.topic, tp.partition) for tp in partitions}
        consumer = self._consumer
        self.tracker.withdraw(list(keys))
        try:
            if not lost and consumer is not None:
                await self._settle(consumer, keys)
            if self.ledger is not None:
                self.ledger.write(self.tracker.progress(list(keys)), time.monotonic(), True)
            if not lost and consumer is not None:
                await self._commit_now(consumer, keys)
            if consumer is not None:
                self._rewind(consumer, keys)
        finally:
            self.tracker.forget(list(keys))
            if self.ledger is not None:
                self.ledger.forget(list(keys))
            for key in keys:
                self.handed.pop(key, None)
                self._committed.pop(key, None)
            self.taking_over -= keys

    async def _settle(self, consumer: KafkaConsumer, keys: set[Key]) -> None:
        net = getattr(consumer, "_net", None)
        if net is None or self._closing.is_set():  # closing: the deliveries had their grace
            return
        deadline = time.monotonic() + self.settings.revoke_grace
        while not self.tracker.quiet(list(keys), self.handed):
            if time.monotonic() >= deadline:
                log.warning("partitions %s handed over with deliveries still in flight: "
                            "their records are delivered again", sorted(keys))  # fmt: skip
                return
            self.alive_at = time.monotonic()
            await net.sleep(0.02)

    def _rewind(self, consumer: KafkaConsumer, keys: set[Key]) -> None:
        """Read on from the first record not settled, should the partition come back.

        kafka-python keeps a partition's position when the new assignment includes it again,
        so without this the records withdrawn above would never be read again (and the next
        generation's commits would pass over them). The ledger skips what did settle.
        """
        for key, offset in self.tracker.resume_at(list(keys)).items():
            try:
                consumer.seek(TopicPartition(*key), offset)
            except Exception as exc:  # not assigned any more: its new owner reads from Kafka's
                log.debug("partition %s not rewound: %s", key, exc)

    async def _commit_now(self, consumer: KafkaConsumer, keys: set[Key]) -> None:
        offsets = self._offsets(keys)
        if not offsets:
            return
        # The awaitable form of consumer.commit(), which would deadlock on this thread.
        coordinator = getattr(consumer, "_coordinator", None)
        commit = getattr(coordinator, "_commit_offsets_sync_async", None)
        try:
            if commit is None:
                consumer.commit_async(offsets)
            else:
                await commit(offsets, timeout_ms=REVOKE_COMMIT_TIMEOUT_MS)
        except Exception as exc:
            log.warning("offset commit on hand-over failed: %s: %s", type(exc).__name__, exc)

    def _take_over(self, consumer: KafkaConsumer) -> None:
        """Read the previous owners' progress of newly assigned partitions (before any of
        their records is handed on, so that the router can skip what was settled)."""
        keys, self.taking_over = self.taking_over, set()
        if self.ledger is None:
            return
        committed: dict[Key, int | None] = {}
        for key in keys & {(tp.topic, tp.partition) for tp in consumer.assignment()}:
            try:
                committed[key] = consumer.committed(TopicPartition(*key), timeout_ms=5000)
            except Exception as exc:  # then it is all delivered again
                log.warning("committed offset of %s not read: %s", key, exc)
        self.ledger.load(committed)

    def _measure_lag(self, consumer: KafkaConsumer) -> None:
        lag = 0
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            if end is not None:
                lag += max(0, end - consumer.position(tp))
        self.lag = lag

    def pause(self) -> None:
        """Stop taking new records (shutdown); what is in progress goes on."""
        self._polling.clear()

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is settled and leave the group."""
        self._closing.set()
        self._closed.wait(timeout)
