"""The bridge's probe state (pure): ready only with both connections and a ticking loop."""

from __future__ import annotations

import threading

import pytest

from bridge.metrics import STALL_SECONDS, Health, Metrics


def test_ready_needs_amqp_kafka_and_a_live_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    health = Health()
    assert health.ready() == (False, "starting")
    health.set(amqp=True, kafka=True)
    assert health.ready() == (True, "ready")
    health.set(kafka=False)  # no problem named: still a reason
    assert health.ready() == (False, "not ready")
    health.set(kafka=True)
    monkeypatch.setattr(health, "last_tick", health.last_tick - STALL_SECONDS - 1)
    assert not health.alive() and health.ready() == (False, "not ready")
    health.tick()
    assert health.alive() and health.ready() == (True, "ready")


def test_setting_one_side_keeps_the_other() -> None:
    health = Health()
    health.set(amqp=True)
    health.set(kafka=True, problem="")
    health.set(problem="RabbitMQ closed the channel", amqp=False)
    assert (health.amqp_connected, health.kafka_ok) == (False, True)
    assert health.ready() == (False, "RabbitMQ closed the channel")


def test_concurrent_probes_see_a_consistent_state() -> None:
    health = Health()
    seen: list[tuple[bool, str]] = []

    def flip() -> None:
        for n in range(2000):
            health.set(amqp=bool(n % 2), kafka=True, problem="" if n % 2 else "down")

    writer = threading.Thread(target=flip)
    writer.start()
    while writer.is_alive():
        seen.append(health.ready())
    writer.join()
    assert set(seen) <= {(True, "ready"), (False, "down"), (False, "starting")}


def test_two_bridges_in_one_process_count_apart() -> None:
    first, second = Metrics(), Metrics()
    first.forwarded.inc()
    assert first.registry.get_sample_value("blazar_events_bridge_forwarded_total") == 1
    assert second.registry.get_sample_value("blazar_events_bridge_forwarded_total") == 0
