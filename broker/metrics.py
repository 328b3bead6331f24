"""Prometheus metrics of the broker, in a registry of its own (one per broker instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class BrokerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "blazar_events_broker_deliveries",
            "Delivery attempts by outcome (delivered, retry, failed, gone)",
            ["outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "blazar_events_broker_delivery_latency_seconds",
            "Time from sending a delivery to the sink's answer",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "blazar_events_broker_dead_letters",
            "Deliveries given up and sent to the dead-letter topic",
            registry=self.registry,
        )
        self.records = Counter(
            "blazar_events_broker_records", "Kafka records consumed", registry=self.registry
        )
        self.invalid_records = Counter(
            "blazar_events_broker_invalid_records",
            "Kafka records that hold no CloudEvent (skipped, logged)",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "blazar_events_broker_queue_depth",
            "Deliveries waiting in subscriber queues",
            registry=self.registry,
        )
        self.retry_backlog = Gauge(
            "blazar_events_broker_retry_backlog",
            "Deliveries in the durable retry schedule",
            registry=self.registry,
        )
        self.lag = Gauge(
            "blazar_events_broker_consumer_lag",
            "Records behind the end of the assigned partitions",
            registry=self.registry,
        )
        self.consumer_rebuilds = Gauge(
            "blazar_events_broker_consumer_rebuilds",
            "Kafka consumers rebuilt after a rebalance that never completed",
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "blazar_events_broker_records_in_progress",
            "Records read whose deliveries are not all settled",
            registry=self.registry,
        )
        self.subscriptions = Gauge(
            "blazar_events_broker_subscriptions",
            "Subscriptions in the broker's cache",
            registry=self.registry,
        )
        self.errors = Counter(
            "blazar_events_broker_errors",
            "Exceptions contained while handling one subscription's work, by stage (match, "
            "deliver, retry-job; background: a step of the dispatcher's own that failed, a bug): "
            "recorded on the subscription where there is one, nobody else's work skipped",
            ["stage"],
            registry=self.registry,
        )
        self.task_restarts = Counter(
            "blazar_events_broker_task_restarts",
            "Background tasks restarted after they crashed",
            ["task"],
            registry=self.registry,
        )
        self.task_failing = Gauge(
            "blazar_events_broker_task_failing",
            "1 while a background task is crashed or restarting, 0 once it runs again",
            ["task"],
            registry=self.registry,
        )
