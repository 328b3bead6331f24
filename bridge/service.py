"""``blazar-events bridge``: the loop that joins the AMQP queue, the pipeline and Kafka.

One thread does the work, batch by batch: collect deliveries, translate, produce, wait for
Kafka's confirmation, then acknowledge the batch with one ``basic.ack multiple``. A
failure on either side never loses a message: AMQP trouble drops the connection (RabbitMQ
requeues what was unacknowledged) and reconnects with backoff; Kafka trouble keeps the
batch unacknowledged and retries (see pipeline.py).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import threading
import time
from types import FrameType

from blazar_events import logs
from blazar_events.settings import CONFIG_FILE_ENV, EventSettings, KafkaSettings
from bridge.consumer import AMQP_ERRORS, NotificationQueue
from bridge.health import HealthServer
from bridge.metrics import Health, Metrics
from bridge.pipeline import Pipeline
from bridge.producer import KafkaSink, RecordSink
from bridge.settings import BridgeSettings
from bridge.translation import bounded, where

LOG = logging.getLogger(__name__)
IDLE_WAIT = 1.0  # seconds the loop waits for a first message before ticking again
KAFKA_PROBE_INTERVAL = 5.0


class Bridge:
    def __init__(
        self,
        settings: BridgeSettings,
        kafka: KafkaSettings,
        event_settings: EventSettings,
        sink: RecordSink | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.health = Health()
        self.sink = sink or KafkaSink(kafka, settings)
        self.queue = NotificationQueue(settings, on_undecodable=self._dropped_properties)
        self.pipeline = Pipeline(
            settings, kafka, event_settings, self.sink, self.metrics, self.health
        )
        self.stop_event = threading.Event()
        self._last_probe = 0.0

    def run(self) -> None:
        """Serve until :meth:`stop`; reconnects to RabbitMQ by itself."""
        backoff = self.settings.retry_backoff
        first = True
        while not self.stop_event.is_set():
            try:
                self.queue.connect()
                if not first:
                    self.metrics.amqp_reconnects.inc()
                first = False
                self.health.set(amqp=True, kafka=self.sink.connected())
                backoff = self.settings.retry_backoff
                self._serve()
            except Exception as exc:
                # Connection trouble is expected; anything else is a bug, but a daemon that
                # dies loses its place too: log it loudly and start over the same way. A
                # bug's message may quote a body: only its type and place are logged.
                expected = isinstance(exc, AMQP_ERRORS)
                why = repr(exc) if expected else type(exc).__name__
                self.metrics.consumer_restarts.labels("amqp" if expected else "internal").inc()
                self.health.set(amqp=False, problem=bounded(f"consuming stopped: {why}"))
                LOG.log(
                    logging.WARNING if expected else logging.ERROR,
                    "consuming stopped; reconnecting to RabbitMQ in %.1fs: %s",
                    backoff,
                    bounded(why),
                    extra={} if expected else {"where": where(exc)},
                )
                self.queue.close()
                self.stop_event.wait(backoff)
                self.health.tick()
                backoff = min(backoff * 2, self.settings.retry_backoff_max)
        self.queue.close()
        self.sink.close()

    def _serve(self) -> None:
        while not self.stop_event.is_set():
            self.health.tick()
            batch = self.queue.collect(
                self.settings.batch_size, first_wait=IDLE_WAIT, batch_wait=self.settings.batch_wait
            )
            if not batch:
                self._probe_kafka()
                continue
            started = time.monotonic()
            outgoing = self.pipeline.to_outgoing(batch)
            if not self.pipeline.deliver(
                outgoing, wait=self._wait, stopping=self.stop_event.is_set
            ):
                return  # stopping: close() hands the unacknowledged batch back to RabbitMQ
            self.queue.ack_through(batch[-1].tag)
            self.metrics.batch_seconds.set(time.monotonic() - started)

    def _dropped_properties(self) -> None:
        self.metrics.poison.labels("amqp-properties").inc()
        LOG.warning("a message's AMQP properties could not be decoded; reading its body only")

    def _probe_kafka(self) -> None:
        # An idle bridge still owes its readiness probe an answer about Kafka.
        now = time.monotonic()
        if not self.health.kafka_ok and now - self._last_probe > KAFKA_PROBE_INTERVAL:
            self._last_probe = now
            self.health.set(kafka=self.sink.connected(), problem="Kafka is unreachable")

    def _wait(self, seconds: float) -> None:
        self.health.tick()
        self.queue.wait(seconds)

    def stop(self) -> None:
        self.stop_event.set()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="blazar-events bridge",
        description="Forward Blazar's oslo.messaging notifications to Kafka as CloudEvents. "
        "Settings: BLAZAR_EVENTS_BRIDGE_*, BLAZAR_EVENTS_KAFKA_*, BLAZAR_EVENTS_EVENTS_* "
        "or the INI file (see `blazar-events config`).",
    )
    parser.add_argument("--config-file", help=f"INI file (default: ${CONFIG_FILE_ENV})")
    args = parser.parse_args(argv)
    if args.config_file:
        os.environ[CONFIG_FILE_ENV] = args.config_file
    settings = BridgeSettings.load()
    logs.configure(settings.log_level, settings.log_format)
    kafka = KafkaSettings.load()
    bridge = Bridge(settings, kafka, EventSettings.load())

    def on_signal(signum: int, frame: FrameType | None) -> None:
        LOG.info("signal %d: finishing the current batch and stopping", signum)
        bridge.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Each notification allocates a few dozen short-lived, acyclic containers (freed by
    # reference counting), and the default young-generation threshold (700) made the
    # cycle collector cost ~8% of the bridge's CPU. What start-up created lives forever.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    server = HealthServer(settings.host, settings.port, bridge.metrics, bridge.health)
    server.start()
    LOG.info(
        "bridge started",
        extra={"pool": settings.pool, "exchange": settings.exchange, "topic": kafka.topic},
    )
    try:
        bridge.run()
    finally:
        server.stop()
    LOG.info("bridge stopped")
    return 0
