"""The one Kafka client of the bridge (kafka-python), behind a two-method Protocol.

The pipeline only sees :class:`RecordSink`: ``send`` returns a :class:`Receipt` that turns
done when Kafka answered, and ``flush`` waits a bounded time. That keeps the retry logic
testable without a broker and the client swappable.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Protocol

from kafka import KafkaProducer
from kafka import errors as kafka_errors

from blazar_events.errors import ServiceUnavailable
from blazar_events.records import KafkaRecord
from blazar_events.settings import KafkaSettings
from bridge.partitioner import lease_partitioner
from bridge.settings import BridgeSettings

LOG = logging.getLogger(__name__)
FAIL_FAST_SECONDS = 1.0
SENDER_JOIN_SECONDS = 1.0  # how long a discarded client may take to stop its I/O thread


class RecordRefused(Exception):
    """The client could not take this record at all (it raised on it)."""


class ReceiptExpired(Exception):
    """The client neither wrote nor failed this record in time: it is resent."""


# Errors no retry can cure: the record itself is unacceptable to the broker or the client.
_REFUSED = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidRecordError,
    RecordRefused,
)


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
    return isinstance(error, _REFUSED)


class FailedReceipt:
    """A receipt that failed before reaching the client's buffer (or whose send raised)."""

    def __init__(self, error: BaseException) -> None:
        self._error = error

    def done(self) -> bool:
        return True

    def error(self) -> BaseException | None:
        return self._error


class _Future:
    def __init__(self, future: Any) -> None:
        self._future = future

    def done(self) -> bool:
        return bool(self._future.is_done)

    def error(self) -> BaseException | None:
        return self._future.exception if self._future.failed() else None


class KafkaSink:
    """kafka-python producer: acks=all, idempotent, flushed per batch; created lazily.

    When Kafka is unreachable at start the producer cannot be built: ``send`` then returns
    failed receipts (ServiceUnavailable) and the pipeline retries, exactly as for a send
    that failed later.
    """

    def __init__(self, kafka: KafkaSettings, bridge: BridgeSettings) -> None:
        delivery_ms = int(bridge.kafka_delivery_timeout * 1000)
        request_ms = max(1000, min(30_000, (delivery_ms - bridge.kafka_linger_ms) // 2))
        self._options: dict[str, Any] = {
            **kafka.client_options(),
            "client_id": f"blazar-events-bridge-{bridge.pool}",
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": bridge.kafka_linger_ms,
            "batch_size": 256 * 1024,
            "compression_type": None
            if bridge.kafka_compression == "none"
            else bridge.kafka_compression,
            "delivery_timeout_ms": delivery_ms,
            "request_timeout_ms": request_ms,
            # send() blocks this long for metadata of a topic when Kafka is away; keep it
            # short so the loop keeps heartbeating AMQP and answering probes.
            "max_block_ms": 5000,
            "max_request_size": 1_048_576,
        }
        partitioner = lease_partitioner()
        if partitioner is not None:
            self._options["partitioner"] = partitioner
        if "bootstrap_timeout_ms" in KafkaProducer.DEFAULT_CONFIG:  # kafka-python >= 3
            # Building the client waits this long for a broker (default 30 s); the loop
            # must not go deaf to AMQP heartbeats and probes that long.
            self._options["bootstrap_timeout_ms"] = 5000
        self._producer: KafkaProducer | None = None
        self._failure: BaseException | None = None
        self._failing_until = 0.0

    def _client(self) -> KafkaProducer:
        if self._producer is None:
            try:
                self._producer = KafkaProducer(**self._options)
            except kafka_errors.KafkaError as exc:
                raise ServiceUnavailable(f"Kafka is unreachable: {exc!r}") from None
            LOG.info("kafka producer connected to %s", ",".join(self._options["bootstrap_servers"]))
        return self._producer

    def send(self, topic: str, record: KafkaRecord) -> Receipt:
        # After a send failed on the spot (no broker to build the client, or no metadata
        # within max_block_ms), fail the rest of the batch at once instead of blocking
        # once per record: the pipeline backs off and resends them all anyway.
        if self._failure is not None and time.monotonic() < self._failing_until:
            return FailedReceipt(self._failure)
        try:
            future = self._client().send(
                topic,
                key=record.key,
                value=None if record.tombstone else record.value,
                headers=list(record.headers),
            )
        except (ServiceUnavailable, kafka_errors.KafkaError) as exc:
            if not is_refused(exc):
                self._failure, self._failing_until = exc, time.monotonic() + FAIL_FAST_SECONDS
            return FailedReceipt(exc)
        self._failure = None
        return _Future(future)

    def connected(self) -> bool:
        try:
            self._client()
        except ServiceUnavailable as exc:
            LOG.warning("%s", exc)
            return False
        return True

    def flush(self, timeout: float) -> None:
        if self._producer is None:
            return
        # A timeout (or kafka-python's "Future not done") only means "not yet": the
        # pipeline looks at each receipt after this returns.
        with contextlib.suppress(kafka_errors.KafkaError):
            self._producer.flush(timeout=timeout)

    def rebuild(self) -> None:
        # Called when receipts outlived the client's own delivery timeout: a client that
        # neither writes nor expires its records will not start again by itself.
        LOG.warning("kafka producer gave no answer in time; closing it and building a new one")
        self._discard(timeout=0)
        self._failure = None

    def close(self) -> None:
        # Unconfirmed records are abandoned: their AMQP messages were not acknowledged.
        self._discard(timeout=5)

    def _discard(self, timeout: float) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.close(timeout=timeout)
        except kafka_errors.KafkaError:
            # kafka-python's close() flushes first and, when records are still pending,
            # raises before it stops its I/O thread: stop that thread here (it fails the
            # pending futures as it ends), or each rebuild would leak a thread and its
            # connections. Then close again, which now finds nothing pending.
            sender = getattr(producer, "_sender", None)
            if sender is not None:
                sender.force_close()
                sender.join(SENDER_JOIN_SECONDS)
            with contextlib.suppress(kafka_errors.KafkaError):
                producer.close(timeout=0)
