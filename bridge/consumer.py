"""The AMQP side of the bridge: its own pool queue on Blazar's notification route, via kombu.

Why kombu and not oslo.messaging's notification listener: the rabbit driver acknowledges
and drops a body it cannot decode ("Failed to process message ... skipping it") before any
listener sees it, so a listener cannot put such a body on the rejected topic. Consuming
the queue directly keeps every body in our hands, with prefetch and one ``basic.ack
multiple`` per batch. The queue and its bindings are declared the way an oslo listener
with ``pool=<pool>`` would: a queue named after the pool, bound to ``<topic>.<priority>``
on the control exchange, which is declared exactly as Blazar's notifier declares it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import amqp.exceptions
import kombu

from bridge.pipeline import Delivery
from bridge.settings import BridgeSettings

LOG = logging.getLogger(__name__)
HEARTBEAT = 30  # seconds; checked at least every second by the loop
READ_AHEAD = 16 * 1024

AMQP_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionError and socket.timeout raised mid-frame
    amqp.exceptions.AMQPError,
    *kombu.Connection("amqp://").connection_errors,
    *kombu.Connection("amqp://").channel_errors,
)
"""Whatever means "this connection is gone or unusable": reconnect and start over."""


def to_kombu_url(transport_url: str) -> str:
    """An oslo ``rabbit://user:pass@host:port/vhost`` URL as kombu wants it (first host)."""
    parts = urlsplit(transport_url)
    netloc = parts.netloc.split(",")[0]
    scheme = "amqp" if parts.scheme in {"rabbit", "amqp", "pyamqp", ""} else parts.scheme
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


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


class NotificationQueue:
    """Connects, declares, consumes; hands out batches; acknowledges up to a delivery tag."""

    def __init__(self, settings: BridgeSettings) -> None:
        self.settings = settings
        self.url = to_kombu_url(settings.transport_url.get_secret_value())
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
        self._buffer: list[Delivery] = []
        self._last_heartbeat = 0.0

    # --- lifecycle ---------------------------------------------------------------------

    def connect(self) -> None:
        self.close()
        connection = kombu.Connection(self.url, heartbeat=HEARTBEAT, connect_timeout=5)
        connection.connect()
        _read_ahead(connection)
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
            "consuming queue %s on exchange %s (%s)",
            self.queue.name,
            self.exchange.name,
            ", ".join(b.routing_key for b in self.queue.bindings),
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
        self._buffer.append(
            Delivery(
                tag=info["delivery_tag"],
                body=body if isinstance(body, bytes) else str(body).encode("utf-8"),
                exchange=info.get("exchange", ""),
                routing_key=info.get("routing_key", ""),
            )
        )

    def collect(self, max_count: int, first_wait: float, batch_wait: float) -> list[Delivery]:
        """Up to ``max_count`` deliveries: waits ``first_wait`` for the first one, then at
        most ``batch_wait`` more for the batch to fill."""
        if not self._buffer:
            self.wait(first_wait, until=1)
        if self._buffer and len(self._buffer) < max_count and batch_wait > 0:
            self.wait(batch_wait, until=max_count)
        batch, self._buffer = self._buffer[:max_count], self._buffer[max_count:]
        return batch

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
