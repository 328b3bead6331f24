"""The broker's one Kafka consumer (confluent-kafka, librdkafka), in a thread of its own.

The consumer blocks, so it polls in this thread and hands each batch to the event loop.
Offsets are committed here, and only up to what :class:`OffsetTracker` says is settled;
``enable.auto.commit`` is off. When too many records are in progress, or handed to the loop
and not routed yet, the assignment is paused (back-pressure), and resumed once they settle.
Partitions moving in a rebalance are :mod:`broker.handover`'s.

kafka-python's two workarounds here (a member rebuilt after 30 s out of a stable group, a
wait for the topic before joining) went with it: librdkafka needs neither (test_rebalance.py,
the soak's kills); a consumer that fails outright is still rebuilt by the supervisor.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from blazar_events.settings import KafkaSettings
from broker.handover import Handover, keys_of
from broker.ledger import Key, Ledger
from broker.offsets import OffsetTracker
from broker.settings import BrokerSettings

log = logging.getLogger(__name__)

BATCH = 500  # records per poll at most
POLL_WAIT = 0.1  # seconds a poll waits for a first record: the loop's pace when idle
# librdkafka's prefetch in KB (default 64 MB), fetched ahead on its own thread to keep the
# loop fed; what is handed to the loop is bounded by max_pending_records, not by this.
PREFETCH_KB = 4096


@dataclass(slots=True, frozen=True)
class Record:
    """One Kafka record as the router reads it (the fields kafka-python's records had)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    generation: int | None = None  # the assignment that read it (OffsetTracker.assign)


def to_record(message: Message, generations: dict[Key, int] | None = None) -> Record:
    """``generations``: each partition's current assignment (Handover.generations)."""
    # A consumer's headers are always a list of (name, bytes or None) pairs; the stub's
    # type also covers what a producer accepts.
    headers = cast(list[tuple[str, bytes | None]] | None, message.headers())
    key = (message.topic() or "", message.partition() or 0)
    generation = None if generations is None else generations.get(key)
    return Record(*key, message.offset() or 0, message.key(), message.value(), headers or [],
                  generation)  # fmt: skip


class KafkaSource:
    """Polls and commits in the thread that runs :meth:`consume` (a supervised task)."""

    def __init__(
        self,
        kafka: KafkaSettings,
        settings: BrokerSettings,
        tracker: OffsetTracker,
        deliver: Callable[[list[Record]], None],
        topic: str | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.kafka = kafka
        self.settings = settings
        self.tracker = tracker
        self.deliver = deliver
        self.topic = topic or kafka.topic
        self.lag = 0
        # kafka-python's rebuilds after a stalled rebalance: none now (health, metric keep it)
        self.rebuilt = 0
        self.error: str | None = None
        self._polling = threading.Event()
        self._polling.set()
        self._closing = threading.Event()
        self._closed = threading.Event()
        self._closed.set()  # nothing runs until consume()
        self._consumer: Consumer | None = None
        self._paused: set[Key] = set()
        # Records handed to the event loop, and those it routed (each side counts its own)
        self._handed = self._routed = 0
        grace, earliest = settings.revoke_grace, settings.auto_offset_reset == "earliest"
        self.handover = Handover(tracker, ledger, grace, self._closing, self._commit_now, earliest)

    @property
    def alive_at(self) -> float:
        """When the polling thread last showed it was not stuck (a poll, or a revoke's wait)."""
        return self.handover.alive_at

    def consume(self) -> None:
        """Poll until :meth:`close`; raises if the consumer fails (its task restarts it)."""
        self._closed.clear()
        self.error = None
        # A new member starts a new generation of every partition: what the previous one
        # left in progress is redelivered from the last commit, not settled by old jobs.
        self.handover.forget_all()
        self._paused.clear()
        consumer: Consumer | None = None
        try:
            consumer = self._consumer = self._new_consumer()
            consumer.subscribe(
                [self.topic],
                on_assign=self.handover.on_assign,
                on_revoke=self.handover.on_revoke,
                on_lost=self.handover.on_lost,
            )
            self._loop(consumer)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if consumer is not None:
                try:
                    # Leaves the group: librdkafka revokes the assignment first (the
                    # hand-over above: progress recorded, what settled committed).
                    consumer.close()
                except Exception as exc:
                    log.warning("closing the Kafka consumer: %s", exc)
            self._consumer = None
            self._closed.set()

    def _new_consumer(self) -> Consumer:
        session_ms = int(self.settings.session_timeout * 1000)
        return Consumer(
            {
                **self.kafka.librdkafka_config(),
                "group.id": self.settings.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": self.settings.auto_offset_reset,
                # Only the partitions that must move are revoked in a rebalance: the others
                # deliver on, and a join or leave repeats nothing of theirs.
                "partition.assignment.strategy": "cooperative-sticky",
                # A topic created after the broker started is picked up within seconds.
                "topic.metadata.refresh.interval.ms": 5000,
                # Group commit, no fixed wait: Kafka answers a fetch as soon as one record is
                # there, and librdkafka fetches ahead on its own thread while the loop hands
                # a batch on. An idle fetch is held up to `fetch_wait`, a long poll that a
                # new record ends at once.
                "fetch.min.bytes": 1,
                "queued.max.messages.kbytes": PREFETCH_KB,
                "fetch.wait.max.ms": max(1, int(self.settings.fetch_wait * 1000)),
                # A killed process's partitions move after the session timeout; librdkafka
                # heartbeats from its own thread, whatever the loop does.
                "session.timeout.ms": session_ms,
                "heartbeat.interval.ms": max(1000, session_ms // 3),
                "max.poll.interval.ms": max(60_000, session_ms),
                "on_commit": self._committed,
            }
        )

    def _loop(self, consumer: Consumer) -> None:
        last_commit = time.monotonic()
        handover = self.handover
        while not self._closing.is_set():
            handover.alive_at = time.monotonic()
            # in progress, and handed on but not routed yet (in a catch-up the loop lags far)
            room = self.settings.max_pending_records - self.tracker.in_progress
            room -= self._handed - self._routed
            low = self.settings.max_pending_records // 2 if self._paused else 0  # hysteresis
            self._hold(consumer, room <= low or not self._polling.is_set())
            messages = self._poll(consumer, min(BATCH, max(1, room)))
            self._paused -= handover.revoked
            messages = handover.sort(consumer, messages)
            if messages:
                records = [to_record(message, handover.generations) for message in messages]
                for record in records:
                    handover.handed[(record.topic, record.partition)] = record.offset + 1
                self.deliver(records)
                self._handed += len(records)
            now = time.monotonic()
            if now - last_commit >= self.settings.commit_interval:
                self.commit()
                self._measure_lag(consumer)
                last_commit = now
            ledger = handover.ledger
            if ledger is not None and ledger.due(now):
                assigned = list(keys_of(consumer.assignment()))
                ledger.write(self.tracker.progress(assigned), now)
        self._commit_now(consumer, keys_of(consumer.assignment()))

    def _poll(self, consumer: Consumer, limit: int) -> list[Message]:
        """Up to ``limit`` records, waiting up to POLL_WAIT for the first one only
        (``consume(n, t)`` waits for n records or t; a poll ends at the first)."""
        first = consumer.poll(POLL_WAIT)
        if first is None:
            return []
        messages = [first, *(consumer.consume(limit - 1, 0) if limit > 1 else [])]
        if all(message.error() is None for message in messages):
            return messages
        good = []
        for message in messages:
            error = message.error()
            if error is None:
                good.append(message)
            elif error.fatal():
                raise KafkaException(error)
            elif error.code() != KafkaError._PARTITION_EOF:
                # e.g. the topic does not exist yet: librdkafka goes on looking for it
                log.warning("Kafka consumer: %s", error.str())
        return good

    def _hold(self, consumer: Consumer, hold: bool) -> None:
        """Pause the assignment while ``hold``, resume it after."""
        if hold:
            # Every iteration: a rebalance may have assigned partitions since the pause
            # (a broker stopping took over a leaving member's partitions, and read them).
            unpaused = [tp for tp in consumer.assignment()
                        if (tp.topic, tp.partition) not in self._paused]  # fmt: skip
            if unpaused:
                consumer.pause(unpaused)
                self._paused |= keys_of(unpaused)
        elif self._paused:
            assigned = keys_of(consumer.assignment())
            consumer.resume([TopicPartition(*key) for key in self._paused & assigned])
            self._paused.clear()

    def commit(self) -> None:
        """Commit what settled and was not committed yet, without waiting for Kafka: the
        loop never blocks on a commit (one waits up to 45 s while the coordinator is away).
        Counted as committed at once; :meth:`_committed` undoes that for a commit that
        failed, so that the next one sends it again."""
        consumer = self._consumer
        if consumer is None:
            return
        keys = keys_of(consumer.assignment())
        committed = self.handover.committed
        offsets = [
            TopicPartition(*key, offset)
            for key, offset in self.tracker.committable().items()
            if key in keys and committed.get(key) != offset
        ]
        if not offsets:
            return
        try:
            consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:  # the next commit catches up
            log.warning("offset commit failed: %s", exc)
            return
        committed.update({(tp.topic, tp.partition): tp.offset for tp in offsets})

    def _committed(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """librdkafka's answer to a commit (called inside poll, on the polling thread)."""
        committed = self.handover.committed
        for tp in partitions:
            if error is not None or tp.error is not None:
                key = (tp.topic, tp.partition)
                if committed.get(key) == tp.offset:
                    del committed[key]
        if error is not None and error.code() != KafkaError._NO_OFFSET:
            log.warning("offset commit failed: %s", error.str())

    def _commit_now(self, consumer: Consumer, keys: set[Key]) -> None:
        """Commit what settled of these partitions and wait for Kafka's answer (a partition
        handed over, and the last commit): whatever was committed asynchronously before."""
        offsets = [
            TopicPartition(*key, offset)
            for key, offset in self.tracker.committable().items()
            if key in keys
        ]
        if not offsets:
            return
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:  # then the next owner delivers those records again
            log.warning("offset commit failed: %s", exc)

    def _measure_lag(self, consumer: Consumer) -> None:
        lag = 0
        assigned = consumer.assignment()
        for tp in consumer.position(assigned) if assigned else []:
            # cached: the high watermark of the last fetch response, no request
            watermarks = consumer.get_watermark_offsets(tp, cached=True)  # None: not known
            if watermarks and watermarks[1] >= 0 and tp.offset >= 0:
                lag += max(0, watermarks[1] - tp.offset)
        self.lag = lag

    def routed(self, count: int) -> None:
        """The event loop routed ``count`` records handed on (whatever became of them)."""
        self._routed += count

    def pause(self) -> None:
        """Stop taking new records (shutdown); what is in progress goes on."""
        self._polling.clear()

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is settled and leave the group."""
        self._closing.set()
        self._closed.wait(timeout)
