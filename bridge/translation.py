"""The bridge's translation: one AMQP message in, the records it becomes out — its event and
the lease's state, or its rejection. No AMQP and no Kafka client here.

Translating one message is total: whatever its body, it becomes an event record or a record
on the rejected topic, and when even the (redacted) body cannot be written, a headers-only
record: reason, size and SHA-256 of the body. Nothing a publisher sends may raise out of here.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from blazar_events import events, leasestate, records, redaction
from blazar_events.errors import NotificationRejected
from blazar_events.records import KafkaRecord
from blazar_events.settings import EventSettings, KafkaSettings
from bridge.metrics import Metrics
from bridge.settings import BridgeSettings

LOG = logging.getLogger("bridge.pipeline")  # the logger name operators already filter on

# A rejected body is kept whole up to this size; beyond it only its head (Kafka's record
# limit is 1 MiB, and an oversized body is usually junk whose start tells the story).
REJECTED_BODY_LIMIT = 64 * 1024
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


class Translator:
    """Translation, settings and metrics; :class:`~bridge.pipeline.Pipeline` adds Kafka."""

    def __init__(
        self,
        bridge: BridgeSettings,
        kafka: KafkaSettings,
        event_settings: EventSettings,
        metrics: Metrics,
    ) -> None:
        self.topic = kafka.topic
        self.rejected_topic = kafka.rejected_topic
        self.state_topic = kafka.state_topic
        self.source_prefix = event_settings.source_prefix
        self.selection = events.Selection.of(bridge.publisher_prefixes, bridge.type_prefixes)
        self.max_body_bytes = bridge.max_body_bytes
        self.metrics = metrics

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
