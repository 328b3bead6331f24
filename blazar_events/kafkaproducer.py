"""Producing with confluent-kafka (librdkafka), typed: one confirmation per record.

librdkafka answers every record exactly once, through the delivery callback, when Kafka
wrote it or the client gave up on it (``delivery.timeout.ms`` bounds that): a
:class:`Confirmation` is that callback. The callbacks run inside ``poll``/``flush`` on the
caller's thread. confluent-kafka's type information is partial; the calls go through here
so that the components stay strictly typed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from blazar_events.kafkalog import quiet_repeats
from blazar_events.records import KafkaRecord

LOG = logging.getLogger(__name__)

PURGE_SECONDS = 1.0  # the most a discarded client is given to answer its purged records

# Errors no retry can cure: the record itself is unacceptable to the client or the broker
# (librdkafka checks the size against ``message.max.bytes`` before it queues the record).
REFUSED_CODES = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.INVALID_RECORD,
    }
)


def kafka_failure(code: int, reason: str) -> KafkaException:
    """The exception a librdkafka error becomes here (and in tests that script one)."""
    return KafkaException(KafkaError(code, reason))


def error_code(error: BaseException) -> int | None:
    """librdkafka's error code of ``error``, None when it is not a client error."""
    if not isinstance(error, KafkaException) or not error.args:
        return None
    inner = error.args[0]
    return int(inner.code()) if isinstance(inner, KafkaError) else None


def error_name(error: BaseException) -> str:
    """librdkafka's name of the error (e.g. ``MSG_SIZE_TOO_LARGE``), else the type's."""
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        return str(error.args[0].name())
    return type(error).__name__


def is_refused(error: BaseException) -> bool:
    """True when resending cannot help: Kafka will never take this record."""
    return error_code(error) in REFUSED_CODES


def is_fatal(error: BaseException) -> bool:
    """True when the client itself is unusable (an idempotent producer's fatal error)."""
    if not isinstance(error, KafkaException) or not error.args:
        return False
    inner = error.args[0]
    return isinstance(inner, KafkaError) and bool(inner.fatal())


class Confirmation:
    """Kafka's answer for one record; it is the record's delivery callback."""

    __slots__ = ("_done", "_error")

    def __init__(self) -> None:
        self._done = False
        self._error: BaseException | None = None

    def __call__(self, error: KafkaError | None, _message: Any) -> None:
        if error is not None:
            self._error = KafkaException(error)
        self._done = True

    def done(self) -> bool:
        return self._done

    def error(self) -> BaseException | None:
        return self._error


def new_producer(config: dict[str, Any]) -> Producer:
    """A producer; building one never waits for Kafka (it connects in the background)."""
    if isinstance(logger := config.get("logger"), logging.Logger):
        quiet_repeats(logger)
    return Producer(config)


def produce(producer: Producer, topic: str, record: KafkaRecord) -> Confirmation:
    """Queue ``record``; raises BufferError (queue full) or KafkaException (refused now)."""
    confirmation = Confirmation()
    producer.produce(
        topic,
        value=None if record.tombstone else record.value,
        key=record.key,
        headers=list(record.headers),
        on_delivery=confirmation,
    )
    return confirmation


def flush(producer: Producer, timeout: float) -> int:
    """Serve the callbacks until nothing is outstanding or ``timeout``; how many remain."""
    if timeout <= 0:
        # librdkafka's flush polls only while time remains: flush(0) would serve nothing
        # at all, poll(0) serves every answer already there.
        producer.poll(0)
        return len(producer)
    return int(producer.flush(timeout))


def produce_all(
    producer: Producer, topic: str, records: Iterable[KafkaRecord], timeout: float
) -> None:
    """Return once Kafka confirmed every record; raise (KafkaException) otherwise."""
    deadline = time.monotonic() + timeout
    confirmations = []
    for record in records:
        while True:
            try:
                confirmations.append(produce(producer, topic, record))
                break
            except BufferError:  # the client's queue is full: let it drain, bounded
                if time.monotonic() > deadline:
                    raise kafka_failure(KafkaError._QUEUE_FULL, "queue full") from None
                producer.poll(0.1)
    flush(producer, max(0.0, deadline - time.monotonic()))
    for confirmation in confirmations:
        if not confirmation.done():
            raise kafka_failure(KafkaError._TIMED_OUT, f"no answer from Kafka in {timeout}s")
        if (error := confirmation.error()) is not None:
            raise error


def discard(producer: Producer, timeout: float) -> int:
    """Wait up to ``timeout`` for outstanding records, then fail the rest; how many failed.

    Purged records get their callback (``_PURGE_QUEUE``/``_PURGE_INFLIGHT``): nothing waits
    for them afterwards. The client's threads end when the last reference goes.
    """
    left = flush(producer, timeout)
    if left:
        producer.purge()
        # Records in flight are failed by the client's I/O thread: their answers come
        # within milliseconds, not at once.
        flush(producer, PURGE_SECONDS)
        LOG.info("kafka producer closed with %d record(s) unconfirmed", left)
    return left
