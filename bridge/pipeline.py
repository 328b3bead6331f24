"""One batch through the bridge: translate each AMQP body, produce, wait for Kafka's answer.

No AMQP and no Kafka client here: the service hands in AMQP messages and a
:class:`~bridge.producer.RecordSink`, and acknowledges the batch only when :meth:`deliver`
returned True, i.e. when Kafka confirmed every record (events and rejections alike).

Processing one message is total: whatever its body, it becomes an event record or a
record on the rejected topic, and when even the (redacted) body cannot be written, a
headers-only record: reason, size and SHA-256 of the body. Nothing a publisher sends may
raise out of here and make the service drop its connection, which would hand the same
message back forever and hold up every notification behind it.
"""

from __future__ import annotations

import hashlib
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from blazar_events import events, leasestate, records, redaction
from blazar_events.errors import NotificationRejected
from blazar_events.records import KafkaRecord
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

LOG = logging.getLogger(__name__)

# A rejected body is kept whole up to this size; beyond it only its head (Kafka's record
# limit is 1 MiB, and an oversized body is usually junk whose start tells the story).
REJECTED_BODY_LIMIT = 64 * 1024
FLUSH_STEP = 0.2  # longest flush between two turns of serving AMQP while waiting for Kafka
SERVE_STEP = 0.01  # each such turn reads the AMQP socket (heartbeats, deliveries) this long
# A healthy client fails a record itself once kafka_delivery_timeout has passed; a receipt
# still open this much later belongs to a client that stopped working, which is rebuilt.
RECEIPT_GRACE = 2.0
# The sentence of a rejection may quote a field of the message (up to a megabyte of it):
# cut, so that the headers alone never make a record Kafka refuses.
ERROR_LIMIT = 512


@dataclass(frozen=True, slots=True)
class AmqpMessage:
    """One AMQP message: its delivery tag (to acknowledge) and its raw body."""

    tag: int
    body: bytes
    exchange: str = ""
    routing_key: str = ""


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    record: KafkaRecord
    amqp: AmqpMessage
    rejected: bool
    headers_only: bool = False
    state: bool = False  # a record of the lease state topic


def bounded(text: str, limit: int = ERROR_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def where(exc: BaseException) -> str:
    """Where ``exc`` was raised, without its message (which may quote the body)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return "; ".join(f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames)


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
        self.state_topic = kafka.state_topic
        self.source_prefix = event_settings.source_prefix
        self.selection = events.Selection.of(bridge.publisher_prefixes, bridge.type_prefixes)
        self.max_body_bytes = bridge.max_body_bytes
        self.backoff = bridge.retry_backoff
        self.backoff_max = bridge.retry_backoff_max
        self.receipt_deadline = bridge.kafka_delivery_timeout + RECEIPT_GRACE
        self._expired = ReceiptExpired(f"no answer from Kafka within {self.receipt_deadline}s")
        self.sink = sink
        self.metrics = metrics
        self.health = health

    # --- translation: total, one outcome per message -----------------------------------

    def to_outgoing(self, messages: Sequence[AmqpMessage]) -> list[Outgoing]:
        """The records a batch turns into; notifications of other services turn into none."""
        out: list[Outgoing] = []
        self.metrics.received.inc(len(messages))
        ignored = 0
        for amqp in messages:
            item = self._translate(amqp)
            if item is None:
                ignored += 1
            else:
                out.append(item)
        self.metrics.ignored.inc(ignored)
        return out + self._states(out)

    def _states(self, out: Sequence[Outgoing]) -> list[Outgoing]:
        """The lease state records of a batch, one per lease (its last): a batch is confirmed
        whole before the next is sent, so the state topic gets each lease's states in order,
        which resending a failed record within a batch could otherwise break."""
        latest: dict[bytes, Outgoing] = {}
        for item in out:
            if not item.rejected and item.record.key is not None:
                record = leasestate.to_state_record(item.record)
                latest[item.record.key] = Outgoing(
                    self.state_topic, record, item.amqp, rejected=False, state=True
                )
        return list(latest.values())

    def _translate(self, amqp: AmqpMessage) -> Outgoing | None:
        try:
            message = events.from_body(amqp.body, max_bytes=self.max_body_bytes)
            event = events.to_cloudevent(
                message,
                source_prefix=self.source_prefix,
                selection=self.selection,
                sanitized=True,
            )
            if event is None:
                return None
            return Outgoing(self.topic, records.to_record(event), amqp, rejected=False)
        except NotificationRejected as exc:
            return self.to_rejection(amqp, exc.reason, exc.message)
        except Exception as exc:
            # A bug of ours must not turn one message into a poison that stalls the
            # queue: it goes to the rejected topic like any untranslatable body. The
            # exception's text may quote the body: only its type and place are logged.
            self.metrics.poison.labels("internal-error").inc()
            LOG.error(
                "translation failed unexpectedly",
                extra={"exception": type(exc).__name__, "where": where(exc)},
            )
            return self.to_rejection(
                amqp, "internal-error", f"the bridge failed on it ({type(exc).__name__})"
            )

    def to_rejection(self, amqp: AmqpMessage, reason: str, error: str) -> Outgoing:
        """The rejected-topic record of ``amqp``; never raises."""
        body = amqp.body
        digest = hashlib.sha256(body).hexdigest()
        self.metrics.rejected.labels(reason).inc()
        # One line per parked message, never its id, body or error sentence (any of them
        # may quote credentials): reason, size and hash find it on the rejected topic.
        LOG.warning(
            "parked a message on the rejected topic",
            extra={"reason": reason, "bytes": len(body), "sha256": digest},
        )
        origin = {
            "exchange": amqp.exchange,
            "routing_key": amqp.routing_key,
            "body_sha256": digest,
        }
        if len(body) > REJECTED_BODY_LIMIT:
            origin["original_size"] = str(len(body))
            body = body[:REJECTED_BODY_LIMIT]
        try:
            value = redaction.redact_body(body)
            record = records.to_rejected_record(value, reason, bounded(error), origin=origin)
        except Exception as exc:
            LOG.error(
                "could not write the body of a rejected message; parking its headers only",
                extra={"reason": reason, "exception": type(exc).__name__, "where": where(exc)},
            )
            return self._headers_only(amqp, reason, error)
        return Outgoing(self.rejected_topic, record, amqp, rejected=True)

    def _headers_only(self, amqp: AmqpMessage, reason: str, error: str) -> Outgoing:
        """The least record that stands for a message: no key, no value, small headers."""
        self.metrics.poison.labels("headers-only").inc()
        headers = (
            ("blazar_events_reason", reason.encode("ascii", "replace")),
            ("blazar_events_error", bounded(error).encode("utf-8", "replace")),
            ("blazar_events_exchange", bounded(amqp.exchange).encode("utf-8", "replace")),
            (
                "blazar_events_routing_key",
                bounded(amqp.routing_key).encode("utf-8", "replace"),
            ),
            ("blazar_events_original_size", str(len(amqp.body)).encode()),
            ("blazar_events_body_sha256", hashlib.sha256(amqp.body).hexdigest().encode()),
            ("blazar_events_body", b"omitted"),
        )
        record = KafkaRecord(key=None, value=b"", headers=headers)
        return Outgoing(self.rejected_topic, record, amqp, rejected=True, headers_only=True)

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
