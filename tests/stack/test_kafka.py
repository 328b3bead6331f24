"""The stack's Kafka holds the product topics the components expect."""

from __future__ import annotations

from kafka.admin import KafkaAdminClient


def test_product_topics_exist(kafka_bootstrap: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        topics = set(admin.list_topics())
        described = admin.describe_topics(["blazar.events"])
    finally:
        admin.close()
    assert {"blazar.events", "blazar.events.rejected", "blazar.events.dlq"} <= topics
    assert len(described[0]["partitions"]) == 6
