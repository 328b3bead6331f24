"""The AMQP side of the bridge: its own pool queue on Blazar's notification route, via kombu.

Why kombu and not oslo.messaging's notification listener: the rabbit driver acknowledges
and drops a body it cannot decode ("Failed to process message ... skipping it") before any
listener sees it, so a listener cannot put such a body on the rejected topic. Consuming
the queue directly keeps every body in our hands, with prefetch and one ``basic.ack
multiple`` per batch. The queue and its bindings are declared the way an oslo listener
with ``pool=<pool>`` would: a queue named after the pool, bound to ``<topic>.<priority>``
on the control exchange, which is declared exactly as Blazar's notifier declares it.

Every host of ``transport_url`` is tried in turn, as oslo.messaging does (kombu's
round-robin failover): one RabbitMQ node down, the bridge consumes from the next.
"""

from __future__ import annotations

import contextlib
import logging
import select
import time
from collections.abc import Callable
from typing import Any

import amqp.exceptions
import kombu

from bridge.settings import BridgeSettings
from bridge.translation import AmqpMessage
from bridge.transport import kombu_urls
from bridge.transport import to_kombu_url as to_kombu_url

LOG = logging.getLogger(__name__)
HEARTBEAT = 30  # seconds; checked at least every second by the loop
READ_AHEAD = 16 * 1024
CONNECT_TIMEOUT = 5  # seconds per host
READY_TIMEOUT = 0.1  # seconds to finish reading a message whose first bytes are in
CONTENT_HEADER = 2  # AMQP frame type of a message's properties
NO_PROPERTIES = b"\x00\x00"  # property flags with no bit set

AMQP_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionError and socket.timeout raised mid-frame
    amqp.exceptions.AMQPError,
    *kombu.Connection("amqp://").connection_errors,
    *kombu.Connection("amqp://").channel_errors,
)
"""Whatever means "this connection is gone or unusable": reconnect and start over."""


def _read_ahead(connection: kombu.Connection) -> None:
    """Let py-amqp read the socket in chunks instead of one recv() per frame part.

    py-amqp's transport asks ``_quick_recv(n)`` for exactly the bytes it still needs (three
    small reads per frame, nine per message) and keeps any surplus in its own read buffer,
    so answering with up to READ_AHEAD bytes is within its contract and saves most syscalls.
    """
    transport = getattr(connection.connection, "transport", None)
    sock = getattr(transport, "sock", None)
    if transport is not None and sock is not None and hasattr(transport, "_quick_recv"):
        transport._quick_recv = lambda n: sock.recv(max(n, READ_AHEAD))


def _tolerate_undecodable_properties(
    connection: kombu.Connection, dropped: Callable[[], None]
) -> None:
    """Let a message whose AMQP properties py-amqp cannot decode through, without them.

    Any publisher on the bus chooses a message's properties, and py-amqp decodes them as
    the frame arrives, before a consumer callback sees the message: a content type that is
    not UTF-8, a timestamp past year 9999 or a header table nested a few thousand deep
    raises out of ``drain_events``. The connection would drop, RabbitMQ would hand the
    message back, and the bridge would stop there forever. The bridge reads only the
    body, so such a content header is decoded again with its property flags cleared (an
    empty property list, as AMQP allows); the body that follows is judged like any other.
    """
    amqp_connection = connection.connection
    on_frame = amqp_connection.on_inbound_frame

    def on_inbound_frame(frame: tuple[int, int, Any]) -> Any:
        try:
            return on_frame(frame)
        except Exception:
            frame_type, channel, payload = frame
            if frame_type != CONTENT_HEADER:
                raise
            dropped()
            # Class id, weight and body size as sent (12 bytes), then no properties.
            return on_frame((frame_type, channel, bytes(payload[:12]) + NO_PROPERTIES))

    amqp_connection.on_inbound_frame = on_inbound_frame


class NotificationQueue:
    """Connects, declares, consumes; hands out batches; acknowledges up to a delivery tag."""

    def __init__(
        self, settings: BridgeSettings, on_undecodable: Callable[[], None] = lambda: None
    ) -> None:
        self.settings = settings
        self.urls = kombu_urls(settings.transport_url.get_secret_value())
        self._next_host = 0  # where the next connect() starts: round-robin over the hosts
        self.on_undecodable = on_undecodable
        self.exchange = kombu.Exchange(
            settings.exchange, type="topic", durable=settings.exchange_durable, auto_delete=False
        )
        arguments = {"x-queue-type": "quorum"} if settings.queue_type == "quorum" else None
        self.queue = kombu.Queue(
            settings.pool,
            bindings=[
                kombu.binding(self.exchange, routing_key=f"{topic}.{priority}")
                for topic in settings.topics
                for priority in settings.priorities
            ],
            durable=settings.queue_durable or settings.queue_type == "quorum",
            auto_delete=False,
            queue_arguments=arguments,
        )
        self._connection: kombu.Connection | None = None
        self._channel: Any = None
        self._buffer: list[AmqpMessage] = []
        self._last_heartbeat = 0.0

    # --- lifecycle ---------------------------------------------------------------------

    def connect(self) -> None:
        """Connect to the first host that answers, starting after the last one used.

        Each host is tried once (no pause between them); when none answers the last error
        is raised and the service retries with its backoff.
        """
        self.close()
        count = len(self.urls)
        start = self._next_host % count
        order = self.urls[start:] + self.urls[:start]
        failed = 0

        def on_error(exc: Exception, interval: float) -> None:
            nonlocal failed
            LOG.warning("RabbitMQ host %s does not answer: %r", _host(order[failed % count]), exc)
            failed += 1

        connection = kombu.Connection(
            order,
            failover_strategy="round-robin",
            heartbeat=HEARTBEAT,
            connect_timeout=CONNECT_TIMEOUT,
        )
        try:
            connection.ensure_connection(
                errback=on_error,
                max_retries=count - 1,
                interval_start=0,
                interval_step=0,
                interval_max=0,
                reraise_as_library_errors=False,
            )
        except BaseException:
            with contextlib.suppress(*AMQP_ERRORS):
                connection.release()
            raise
        # Next time (this host lost), begin with the one after it, as oslo's driver does.
        self._next_host = start + failed + 1
        _read_ahead(connection)
        _tolerate_undecodable_properties(connection, self.on_undecodable)
        self._connection = connection
        channel = self._declare_exchange(connection)
        self.queue(channel).declare()
        # Raw bytes, as sent: py-amqp would otherwise decode bodies that name a
        # content_encoding, and we want to judge (and keep) undecodable ones ourselves.
        channel.auto_decode = False
        channel.basic_qos(prefetch_size=0, prefetch_count=self.settings.prefetch, a_global=False)
        channel.basic_consume(queue=self.queue.name, callback=self._on_message, no_ack=False)
        self._channel = channel
        LOG.info(
            "consuming queue %s on exchange %s (%s) from %s",
            self.queue.name,
            self.exchange.name,
            ", ".join(b.routing_key for b in self.queue.bindings),
            _host(order[failed % count]),
        )

    def _declare_exchange(self, connection: kombu.Connection) -> Any:
        channel = connection.channel()
        try:
            self.exchange(channel).declare()
            return channel
        except amqp.exceptions.PreconditionFailed as exc:
            # Declared by Blazar with the other durability: use it as it is (oslo's own
            # rabbit driver falls back the same way) and tell the operator what to align.
            LOG.warning(
                "exchange %s exists with other arguments (%s); using it as declared. "
                "Set [bridge] exchange_durable to match Blazar's amqp_durable_queues.",
                self.exchange.name,
                exc,
            )
        channel = connection.channel()
        self.exchange(channel).declare(passive=True)
        return channel

    def close(self) -> None:
        """Drop the connection; RabbitMQ requeues whatever was not acknowledged."""
        self._buffer.clear()  # their delivery tags die with the channel
        if self._connection is not None:
            with contextlib.suppress(*AMQP_ERRORS):
                self._connection.close()
            self._connection = None
            self._channel = None

    # --- consuming ---------------------------------------------------------------------

    def _on_message(self, message: Any) -> None:
        info = message.delivery_info
        body = message.body
        if not isinstance(body, bytes):  # py-amqp leaves "" for an empty body
            body = bytes(body) if isinstance(body, bytearray | memoryview) else b""
        self._buffer.append(
            AmqpMessage(
                tag=info["delivery_tag"],
                body=body,
                exchange=str(info.get("exchange", "")),
                routing_key=str(info.get("routing_key", "")),
            )
        )

    def collect(self, max_count: int, first_wait: float, batch_wait: float) -> list[AmqpMessage]:
        """Up to ``max_count`` deliveries: waits ``first_wait`` for the first one, then takes
        what has already arrived behind it, then (``batch_wait`` > 0) waits at most that
        much more for the batch to fill.

        With ``batch_wait`` 0 (the default) batching adapts by itself (group commit): an
        idle bridge produces a lone notification at once, and whatever arrives while Kafka
        confirms a batch is read into the buffer meanwhile and makes the next one.
        """
        if not self._buffer:
            self.wait(first_wait, until=1)
        if self._buffer and len(self._buffer) < max_count:
            self.read_ready(until=max_count)
        if self._buffer and len(self._buffer) < max_count and batch_wait > 0:
            self.wait(batch_wait, until=max_count)
        batch, self._buffer = self._buffer[:max_count], self._buffer[max_count:]
        return batch

    def read_ready(self, until: int) -> None:
        """Read the deliveries already received, without waiting for more.

        A drain is only started when bytes are there (py-amqp's own read buffer, the TLS
        layer's, or the socket's); a message only partly arrived is read to its end, which
        is a wait for bytes already in transit, bounded by READY_TIMEOUT.
        """
        assert self._connection is not None, "connect() first"
        transport = getattr(self._connection.connection, "transport", None)
        sock = getattr(transport, "sock", None)
        if transport is None or sock is None:
            return
        while len(self._buffer) < until:
            pending = getattr(sock, "pending", None)  # TLS: decrypted bytes not yet read
            if not (
                getattr(transport, "_read_buffer", b"")
                or (pending is not None and pending())
                or select.select([sock], [], [], 0)[0]
            ):
                return
            try:
                self._connection.drain_events(timeout=READY_TIMEOUT)
            except TimeoutError:
                return

    def wait(self, seconds: float, until: int | None = None) -> None:
        """Serve the connection for ``seconds`` (heartbeats; messages go to the buffer), or
        until the buffer holds ``until`` deliveries."""
        assert self._connection is not None, "connect() first"
        deadline = time.monotonic() + seconds
        while True:
            now = time.monotonic()
            if now - self._last_heartbeat >= 1.0:
                self._connection.heartbeat_check()
                self._last_heartbeat = now
            if until is not None and len(self._buffer) >= until:
                return
            left = deadline - now
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                self._connection.drain_events(timeout=min(left, 1.0))

    def ack_through(self, tag: int) -> None:
        """Acknowledge every delivery up to and including ``tag``."""
        self._channel.basic_ack(delivery_tag=tag, multiple=True)


def _host(url: str) -> str:
    """``host:port`` of a kombu URL, for logs (never the credentials)."""
    return url.split("@", 1)[-1].split("/", 1)[0]
