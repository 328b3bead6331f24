"""The one Kafka client of the bridge (confluent-kafka), behind a two-method Protocol.

The pipeline only sees :class:`RecordSink`: ``send`` returns a :class:`Receipt` that turns
done when Kafka answered, and ``flush`` waits a bounded time. That keeps the retry logic
testable without a broker and the client swappable.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Producer

from blazar_events import kafkaproducer
from blazar_events.records import KafkaRecord
from blazar_events.settings import KafkaSettings
from bridge.settings import BridgeSettings

LOG = logging.getLogger(__name__)
FAIL_FAST_SECONDS = 1.0
CONNECT_SECONDS = 2.0  # how long a readiness check waits for Kafka's metadata


class RecordRefused(Exception):
    """The client could not take this record at all (it raised on it)."""


class ReceiptExpired(Exception):
    """The client neither wrote nor failed this record in time: it is resent."""


class Receipt(Protocol):
    def done(self) -> bool:
        """Whether Kafka answered (or the client gave up)."""

    def error(self) -> BaseException | None:
        """Why it failed, once done; None when the record was written."""


class RecordSink(Protocol):
    def send(self, topic: str, record: KafkaRecord) -> Receipt: ...

    def flush(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for outstanding receipts; never raises."""

    def connected(self) -> bool:
        """Whether the client could reach Kafka (it tries to connect if it has not yet)."""

    def rebuild(self) -> None:
        """Drop the client (its pending receipts fail); the next send builds a new one."""

    def close(self) -> None: ...


def is_refused(error: BaseException) -> bool:
    """True when resending cannot help: the record goes to the rejected topic instead."""
    return isinstance(error, RecordRefused) or kafkaproducer.is_refused(error)


class FailedReceipt:
    """A receipt that failed before reaching the client's buffer (or whose send raised)."""

    def __init__(self, error: BaseException) -> None:
        self._error = error

    def done(self) -> bool:
        return True

    def error(self) -> BaseException | None:
        return self._error


class KafkaSink:
    """librdkafka producer: acks=all, idempotent, flushed per batch; created lazily.

    Building the client never waits for Kafka; a record it cannot deliver within
    ``kafka_delivery_timeout`` comes back failed through its receipt and the pipeline
    resends it, as it does for any failed send. Partitions are the Java client's for a
    key (``murmur2_random``): a lease's events stay on one partition (tests/bridge/
    test_partitioner.py proves it against librdkafka itself).
    """

    def __init__(self, kafka: KafkaSettings, bridge: BridgeSettings) -> None:
        delivery_ms = int(bridge.kafka_delivery_timeout * 1000)
        request_ms = max(1000, min(30_000, (delivery_ms - bridge.kafka_linger_ms) // 2))
        self._config: dict[str, Any] = {
            **kafka.librdkafka_config(),
            "client.id": f"blazar-events-bridge-{bridge.pool}",
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": bridge.kafka_linger_ms,
            "batch.size": 256 * 1024,
            "compression.type": bridge.kafka_compression,
            "delivery.timeout.ms": delivery_ms,
            "request.timeout.ms": request_ms,
            "message.max.bytes": 1_048_576,
            "partitioner": "murmur2_random",
            "error_cb": self._on_error,
        }
        self._servers = str(self._config["bootstrap.servers"])
        self._producer: Producer | None = None
        self._failure: BaseException | None = None
        self._failing_until = 0.0
        self._broken = False

    def _on_error(self, error: KafkaError) -> None:
        # Client-wide errors (all brokers down, ...): librdkafka retries by itself; a
        # fatal one (the idempotent producer's state is lost) needs a new client.
        # It runs inside poll/flush: the client is replaced outside the callback.
        if error.fatal():
            LOG.error("kafka producer failed for good (%s); building a new one", error.str())
            self._broken = True
        else:  # librdkafka's own log line (the `logger`) already said it
            LOG.debug("kafka producer: %s", error.str())

    def _client(self) -> Producer:
        if self._broken:
            self._discard(timeout=0)
        if self._producer is None:
            self._producer = kafkaproducer.new_producer(self._config)
            LOG.info("kafka producer created for %s", self._servers)
        return self._producer

    def send(self, topic: str, record: KafkaRecord) -> Receipt:
        # After a send failed on the spot (the client's queue full), fail the rest of the
        # batch at once: the pipeline backs off and resends them all anyway.
        if self._failure is not None and time.monotonic() < self._failing_until:
            return FailedReceipt(self._failure)
        producer = self._client()
        try:
            receipt = kafkaproducer.produce(producer, topic, record)
        except BufferError:
            exc = kafkaproducer.kafka_failure(KafkaError._QUEUE_FULL, "producer queue full")
            self._failure, self._failing_until = exc, time.monotonic() + FAIL_FAST_SECONDS
            producer.poll(0)
            return FailedReceipt(exc)
        except KafkaException as exc:
            self._broken = self._broken or kafkaproducer.is_fatal(exc)
            return FailedReceipt(exc)
        self._failure = None
        return receipt

    def connected(self) -> bool:
        try:
            self._client().list_topics(timeout=CONNECT_SECONDS)
        except KafkaException as exc:
            LOG.warning("Kafka is unreachable: %s", exc)
            return False
        return True

    def flush(self, timeout: float) -> None:
        # A timeout only means "not yet": the pipeline looks at each receipt afterwards.
        if self._producer is not None:
            kafkaproducer.flush(self._producer, timeout)
        if self._broken:  # its pending receipts fail now; the pipeline resends them
            self._discard(timeout=0)

    def rebuild(self) -> None:
        # Called when receipts outlived the client's own delivery timeout. librdkafka
        # expires every record by then, so this is a safety net: the records still open
        # are failed (purged) and resent through a new client.
        LOG.warning("kafka producer gave no answer in time; closing it and building a new one")
        self._discard(timeout=0)
        self._failure = None

    def close(self) -> None:
        # Unconfirmed records are abandoned: their AMQP messages were not acknowledged.
        self._discard(timeout=5)

    def _discard(self, timeout: float) -> None:
        producer, self._producer, self._broken = self._producer, None, False
        if producer is not None:
            kafkaproducer.discard(producer, timeout)
