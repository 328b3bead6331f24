"""The stack's Kafka holds the product topics the components expect."""

from __future__ import annotations

from stack.kafka import list_topics


def test_product_topics_exist(kafka_bootstrap: str) -> None:
    topics = list_topics(kafka_bootstrap)
    assert {"blazar.events", "blazar.events.rejected", "blazar.events.dlq"} <= set(topics)
    assert topics["blazar.events"] == 6
