"""The bridge's counters (Prometheus) and the liveness/readiness state behind its probes."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge

# The loop ticks at least once a second even when idle; much longer means it is stuck.
STALL_SECONDS = 60.0


@dataclass
class Health:
    """Written by the service loop, read by the HTTP probes (another thread)."""

    amqp_connected: bool = False
    kafka_ok: bool = False
    last_tick: float = field(default_factory=time.monotonic)
    problem: str = "starting"
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def tick(self) -> None:
        self.last_tick = time.monotonic()

    def set(
        self, *, amqp: bool | None = None, kafka: bool | None = None, problem: str = ""
    ) -> None:
        with self.lock:
            if amqp is not None:
                self.amqp_connected = amqp
            if kafka is not None:
                self.kafka_ok = kafka
            self.problem = problem

    def alive(self) -> bool:
        return time.monotonic() - self.last_tick < STALL_SECONDS

    def ready(self) -> tuple[bool, str]:
        with self.lock:
            ok = self.amqp_connected and self.kafka_ok and self.alive()
            return ok, "ready" if ok else (self.problem or "not ready")


class Metrics:
    """Counters of one bridge process, on a registry of its own (tests run several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.received = Counter(
            "blazar_events_bridge_received",
            "AMQP messages received from the pool queue",
            registry=self.registry,
        )
        self.forwarded = Counter(
            "blazar_events_bridge_forwarded",
            "CloudEvents confirmed by Kafka",
            registry=self.registry,
        )
        self.ignored = Counter(
            "blazar_events_bridge_ignored",
            "Notifications of other services, acknowledged and dropped",
            registry=self.registry,
        )
        self.rejected = Counter(
            "blazar_events_bridge_rejected",
            "Messages that could not be translated, sent to the rejected topic",
            ["reason"],
            registry=self.registry,
        )
        self.poison = Counter(
            "blazar_events_bridge_poison",
            "Messages the ordinary path could not handle, parked anyway: translation failed "
            "unexpectedly (internal-error), only a headers-only record could be written "
            "(headers-only), or AMQP properties could not be decoded and were dropped "
            "(amqp-properties)",
            ["kind"],
            registry=self.registry,
        )
        self.retries = Counter(
            "blazar_events_bridge_retries",
            "Kafka produce retries (records resent or waited for after a failure)",
            registry=self.registry,
        )
        self.producer_rebuilds = Counter(
            "blazar_events_bridge_producer_rebuilds",
            "Kafka clients closed and built anew because records they held were neither "
            "written nor failed within kafka_delivery_timeout (plus a grace)",
            registry=self.registry,
        )
        self.amqp_reconnects = Counter(
            "blazar_events_bridge_amqp_reconnects",
            "Reconnections to RabbitMQ",
            registry=self.registry,
        )
        self.consumer_restarts = Counter(
            "blazar_events_bridge_consumer_restarts",
            "Times consuming stopped and started over: RabbitMQ trouble (amqp), or an "
            "error of the bridge itself (internal; a bug, never expected)",
            ["cause"],
            registry=self.registry,
        )
        self.batch_seconds = Gauge(
            "blazar_events_bridge_last_batch_seconds",
            "Time from the first message of the last batch to its acknowledgement",
            registry=self.registry,
        )
