"""One batch through the bridge: translate each AMQP body, produce, wait for Kafka's answer.

No AMQP and no Kafka client here: the service hands in deliveries and a
:class:`~bridge.producer.RecordSink`, and acknowledges the batch only when :meth:`deliver`
returned True, i.e. when Kafka confirmed every record (events and rejections alike).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from blazar_events import events, records
from blazar_events.errors import NotificationRejected
from blazar_events.records import KafkaRecord
from blazar_events.settings import EventSettings, KafkaSettings
from bridge.metrics import Health, Metrics
from bridge.producer import RecordSink, is_refused
from bridge.settings import BridgeSettings

LOG = logging.getLogger(__name__)

# A rejected body is kept whole up to this size; beyond it only its head (Kafka's record
# limit is 1 MiB, and an oversized body is usually junk whose start tells the story).
REJECTED_BODY_LIMIT = 64 * 1024
FLUSH_STEP = 1.0  # seconds between AMQP heartbeats while waiting for Kafka


@dataclass(frozen=True, slots=True)
class Delivery:
    """One AMQP message: its delivery tag (to acknowledge) and its raw body."""

    tag: int
    body: bytes
    exchange: str = ""
    routing_key: str = ""


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    record: KafkaRecord
    delivery: Delivery
    rejected: bool


class Pipeline:
    def __init__(
        self,
        bridge: BridgeSettings,
        kafka: KafkaSettings,
        event_settings: EventSettings,
        sink: RecordSink,
        metrics: Metrics,
        health: Health,
    ) -> None:
        self.topic = kafka.topic
        self.rejected_topic = kafka.rejected_topic
        self.source_prefix = event_settings.source_prefix
        self.selection = events.Selection.of(bridge.publisher_prefixes, bridge.type_prefixes)
        self.max_body_bytes = bridge.max_body_bytes
        self.backoff = bridge.retry_backoff
        self.backoff_max = bridge.retry_backoff_max
        self.sink = sink
        self.metrics = metrics
        self.health = health

    def to_outgoing(self, deliveries: Sequence[Delivery]) -> list[Outgoing]:
        """The records a batch turns into; notifications of other services turn into none."""
        out: list[Outgoing] = []
        self.metrics.received.inc(len(deliveries))
        ignored = 0
        for delivery in deliveries:
            try:
                message = events.from_body(delivery.body, max_bytes=self.max_body_bytes)
                event = events.to_cloudevent(
                    message,
                    source_prefix=self.source_prefix,
                    selection=self.selection,
                    sanitized=True,
                )
                if event is None:
                    ignored += 1
                    continue
                record = records.to_record(event)
            except NotificationRejected as exc:
                out.append(self.to_rejection(delivery, exc.reason, exc.message))
                continue
            except Exception as exc:
                # A bug of ours must not turn one message into a poison that stalls the
                # queue: it goes to the rejected topic like any untranslatable body.
                LOG.exception("translation failed unexpectedly")
                out.append(self.to_rejection(delivery, "internal-error", repr(exc)))
                continue
            out.append(Outgoing(self.topic, record, delivery, rejected=False))
        self.metrics.ignored.inc(ignored)
        return out

    def to_rejection(self, delivery: Delivery, reason: str, error: str) -> Outgoing:
        body = delivery.body
        origin = {"exchange": delivery.exchange, "routing_key": delivery.routing_key}
        if len(body) > REJECTED_BODY_LIMIT:
            origin["original_size"] = str(len(body))
            body = body[:REJECTED_BODY_LIMIT]
        self.metrics.rejected.labels(reason).inc()
        # Never a message id or body in the log: the reason and sizes are enough to look it
        # up on the rejected topic, and a body may hold credentials.
        LOG.warning(
            "rejected a message", extra={"reason": reason, "error": error, "bytes": len(body)}
        )
        record = records.to_rejected_record(events.redact_body(body), reason, error, origin=origin)
        return Outgoing(self.rejected_topic, record, delivery, rejected=True)

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
        ``wait(seconds)`` keeps the AMQP connection alive meanwhile. Returns False only
        when ``stopping()`` turned true first (then nothing may be acknowledged).
        """
        todo = list(outgoing)
        backoff = self.backoff
        while todo:
            receipts = [(item, self.sink.send(item.topic, item.record)) for item in todo]
            started = time.monotonic()
            while not all(receipt.done() for _, receipt in receipts):
                self.sink.flush(FLUSH_STEP)
                wait(0)
                if stopping():
                    return False
                if time.monotonic() - started > 2 * FLUSH_STEP:
                    self.health.set(kafka=False, problem="waiting for Kafka to confirm")
            todo, failures, forwarded = [], [], 0
            for item, receipt in receipts:
                error = receipt.error()
                if error is None:
                    forwarded += not item.rejected
                elif is_refused(error) and not item.rejected:
                    todo.append(self.to_rejection(item.delivery, "kafka-refused", repr(error)))
                elif is_refused(error) and item.record.value:
                    LOG.error("Kafka refused a rejection record too; sending its headers only")
                    todo.append(self._headers_only(item))
                elif is_refused(error):
                    LOG.error("Kafka refused even the headers of a rejection: %r", error)
                else:
                    todo.append(item)
                    failures.append(error)
            self.metrics.forwarded.inc(forwarded)
            if failures:
                self.metrics.retries.inc(len(failures))
                LOG.warning(
                    "Kafka did not take %d record(s); retrying in %.1fs",
                    len(failures),
                    backoff,
                    extra={"error": repr(failures[0])},
                )
                self.health.set(kafka=False, problem=f"Kafka is failing: {failures[0]!r}")
                if not self._pause(backoff, wait, stopping):
                    return False
                backoff = min(backoff * 2, self.backoff_max)
        self.health.set(kafka=True)
        return True

    def _headers_only(self, item: Outgoing) -> Outgoing:
        record = KafkaRecord(key=None, value=b"", headers=item.record.headers)
        return Outgoing(item.topic, record, item.delivery, rejected=True)

    @staticmethod
    def _pause(seconds: float, wait: Callable[[float], None], stopping: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if stopping():
                return False
            wait(min(left, FLUSH_STEP))
        return not stopping()
