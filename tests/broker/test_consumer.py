"""The consumer's group watchdog: when a member is out of a stable group for too long."""

from __future__ import annotations

import time

from kafka import KafkaConsumer

from broker.consumer import GroupWatch, in_stable_group
from tests.conftest import unique_name


def test_a_member_stable_again_in_time_is_left_alone() -> None:
    watch = GroupWatch(rejoin_after=30)
    assert watch.stalled(False, now=100.0) is False
    assert watch.stalled(False, now=129.0) is False
    assert watch.stalled(True, now=129.5) is False
    assert watch.stalled(False, now=140.0) is False  # the clock starts again


def test_a_member_out_of_the_group_too_long_is_stalled() -> None:
    watch = GroupWatch(rejoin_after=30)
    assert watch.stalled(False, now=100.0) is False
    assert watch.stalled(False, now=130.5) is True


def test_kafka_pythons_group_state_is_read_from_a_real_consumer(
    kafka_bootstrap: str, kafka_topic: str
) -> None:
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=unique_name("watch"), session_timeout_ms=6000
    )
    try:
        consumer.subscribe([kafka_topic])
        assert in_stable_group(consumer) is False  # not joined yet
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200)
        assert consumer.assignment()
        assert in_stable_group(consumer) is True
    finally:
        consumer.close()
