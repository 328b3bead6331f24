"""One batch through the bridge: translate each AMQP body, produce, wait for Kafka's answer.

No AMQP and no Kafka client here: the service hands in AMQP messages and a
:class:`~bridge.producer.RecordSink`, and acknowledges the batch only when :meth:`deliver`
returned True, i.e. when Kafka confirmed every record (events and rejections alike).

The translation (:mod:`bridge.translation`) is total: every message becomes an event record
or a rejection. Nothing a publisher sends may raise out of here and make the service drop its
connection, which would hand the same message back forever and hold up every notification
behind it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from blazar_events import leasestate
from blazar_events.settings import EventSettings, KafkaSettings
from bridge.metrics import Health, Metrics
from bridge.producer import (
    FailedReceipt,
    Receipt,
    ReceiptExpired,
    RecordRefused,
    RecordSink,
    is_refused,
)
from bridge.settings import BridgeSettings
from bridge.translation import Outgoing, Translator, bounded

LOG = logging.getLogger(__name__)

FLUSH_STEP = 0.2  # longest flush between two turns of serving AMQP while waiting for Kafka
SERVE_STEP = 0.01  # each such turn reads the AMQP socket (heartbeats, deliveries) this long
# A healthy client fails a record itself once kafka_delivery_timeout has passed; a receipt
# still open this much later belongs to a client that stopped working, which is rebuilt.
RECEIPT_GRACE = 2.0


class Pipeline(Translator):
    def __init__(
        self,
        bridge: BridgeSettings,
        kafka: KafkaSettings,
        event_settings: EventSettings,
        sink: RecordSink,
        metrics: Metrics,
        health: Health,
    ) -> None:
        super().__init__(bridge, kafka, event_settings, metrics)
        self.backoff = bridge.retry_backoff
        self.backoff_max = bridge.retry_backoff_max
        self.receipt_deadline = bridge.kafka_delivery_timeout + RECEIPT_GRACE
        self._expired = ReceiptExpired(f"no answer from Kafka within {self.receipt_deadline}s")
        self.sink = sink
        self.health = health

    # --- delivery: nothing acknowledged before Kafka has it ------------------------------

    def deliver(
        self,
        outgoing: Sequence[Outgoing],
        *,
        wait: Callable[[float], None],
        stopping: Callable[[], bool],
    ) -> bool:
        """Produce every record and wait until Kafka confirmed all of them.

        Retries what failed with a doubling backoff, forever: until Kafka confirms, the
        AMQP messages stay unacknowledged in RabbitMQ, so nothing is lost by waiting.
        A record Kafka refuses (too large, invalid) is replaced by its rejection, then by
        a headers-only one; only if Kafka refuses even that is it retried like an outage.
        ``wait(seconds)`` keeps the AMQP connection alive meanwhile. Returns False only
        when ``stopping()`` turned true first (then nothing may be acknowledged).
        """
        todo = list(outgoing)
        backoff = self.backoff
        while todo:
            receipts = [(item, self._send(item)) for item in todo]
            if not self._await(receipts, wait, stopping):
                return False
            todo, failures, forwarded = [], [], 0
            for item, receipt in receipts:
                error = receipt.error() if receipt.done() else self._expired
                if error is None:
                    forwarded += not (item.rejected or item.state)
                elif not is_refused(error) or item.headers_only or item.record.tombstone:
                    # Kafka is away, or refuses even a few hundred bytes of headers (a
                    # compacted rejected topic, a tiny max.message.bytes): Kafka's problem,
                    # not this message's. It stays unacknowledged and is sent again.
                    todo.append(item)
                    failures.append(error)
                elif item.state:
                    # A stale state is worse than none: the lease leaves the snapshots.
                    LOG.warning("Kafka refused a lease state; tombstoning the lease instead")
                    todo.append(replace(item, record=leasestate.to_tombstone(item.record.key)))
                elif not item.rejected:
                    why = f"Kafka refused the event: {type(error).__name__}: {error}"
                    todo.append(self.to_rejection(item.amqp, "kafka-refused", why))
                else:
                    LOG.error("Kafka refused a rejection record too; sending its headers only")
                    tag = item.record.header("blazar_events_reason") or b"kafka-refused"
                    sentence = item.record.header("blazar_events_error") or b""
                    todo.append(
                        self._headers_only(
                            item.amqp,
                            tag.decode("ascii", "replace"),
                            sentence.decode("utf-8", "replace"),
                        )
                    )
            self.metrics.forwarded.inc(forwarded)
            if failures:
                self.metrics.retries.inc(len(failures))
                LOG.warning(
                    "Kafka did not take %d record(s); retrying in %.1fs",
                    len(failures),
                    backoff,
                    extra={"error": bounded(repr(failures[0]))},
                )
                self.health.set(kafka=False, problem=bounded(f"Kafka is failing: {failures[0]!r}"))
                if not self._pause(backoff, wait, stopping):
                    return False
                backoff = min(backoff * 2, self.backoff_max)
        self.health.set(kafka=True)
        return True

    def _await(
        self,
        receipts: Sequence[tuple[Outgoing, Receipt]],
        wait: Callable[[float], None],
        stopping: Callable[[], bool],
    ) -> bool:
        """Wait until every receipt is done, or the client is found stuck and rebuilt.

        Every turn serves the AMQP connection (``wait`` reads its socket: a loop that only
        flushed would miss RabbitMQ's heartbeats and be disconnected after two of them).
        Returns False only when ``stopping()`` turned true.
        """
        started = time.monotonic()
        while not all(receipt.done() for _, receipt in receipts):
            waited = time.monotonic() - started
            if waited > self.receipt_deadline:
                # kafka-python can wedge for good after a broker restart (its idempotent
                # producer drops its producer id and never asks for a new one): nothing is
                # sent, nothing expires. Only a new client gets records moving again; the
                # records still open are resent by the caller (never acknowledged before).
                self.metrics.producer_rebuilds.inc()
                self.health.set(kafka=False, problem="Kafka producer stuck; rebuilt it")
                self.sink.rebuild()
                return True
            if waited > 2 * FLUSH_STEP:
                self.health.set(kafka=False, problem="waiting for Kafka to confirm")
            self.sink.flush(FLUSH_STEP)
            if all(receipt.done() for _, receipt in receipts):
                break
            wait(SERVE_STEP)
            if stopping():
                return False
        return True

    def _send(self, item: Outgoing) -> Receipt:
        try:
            return self.sink.send(item.topic, item.record)
        except Exception as exc:
            # The client choked on this record (Kafka's own errors come back in receipts):
            # treat it as a record Kafka refuses, so that it cannot block the queue.
            why = f"the Kafka client failed on it: {type(exc).__name__}"
            return FailedReceipt(RecordRefused(why))

    @staticmethod
    def _pause(seconds: float, wait: Callable[[float], None], stopping: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if stopping():
                return False
            wait(min(left, FLUSH_STEP))
        return not stopping()
