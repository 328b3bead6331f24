"""The broker's metrics: each broker instance counts in a registry of its own."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from broker.metrics import BrokerMetrics


def test_two_brokers_in_one_process_count_apart() -> None:
    first, second = BrokerMetrics(), BrokerMetrics()
    first.deliveries.labels("delivered").inc()
    first.errors.labels("match").inc(2)
    assert (
        first.registry.get_sample_value(
            "blazar_events_broker_deliveries_total", {"outcome": "delivered"}
        )
        == 1
    )
    assert (
        second.registry.get_sample_value(
            "blazar_events_broker_deliveries_total", {"outcome": "delivered"}
        )
        is None
    )
    assert (
        second.registry.get_sample_value("blazar_events_broker_errors_total", {"stage": "match"})
        is None
    )


def test_every_family_is_exposed() -> None:
    text = generate_latest(BrokerMetrics().registry).decode()
    exposed = {family.name for family in text_string_to_metric_families(text)}
    for family in ("deliveries", "delivery_latency_seconds", "dead_letters", "records",
                   "queue_depth", "retry_backlog", "consumer_lag", "errors", "task_restarts",
                   "task_failing", "subscriptions"):  # fmt: skip
        assert f"blazar_events_broker_{family}" in exposed
