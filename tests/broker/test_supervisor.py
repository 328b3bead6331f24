"""Supervised tasks: a crash restarts the task after a capped backoff and shows until the task
runs stably again; on a real broker, a crashed task makes /healthz answer 503 naming it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from blazar_events.store import SubscriptionStore
from broker.consumer import KafkaSource
from broker.metrics import BrokerMetrics
from broker.supervisor import Supervisor, in_thread, to_backoff
from stack.sink import Sink
from tests.broker.conftest import RunningBroker
from tests.delivery.conftest import from_fixture, to_subscription


def test_the_backoff_doubles_up_to_its_cap() -> None:
    assert [to_backoff(n, 0.5, 30.0) for n in (1, 2, 3, 7, 8, 1000)] == [
        0.5, 1.0, 2.0, 30.0, 30.0, 30.0,
    ]  # fmt: skip


def test_a_crashing_task_is_restarted_and_shown_until_stable() -> None:
    async def main() -> tuple[dict[str, str], dict[str, str], float | None, int]:
        runs = 0

        async def flaky() -> None:
            nonlocal runs
            runs += 1
            if runs <= 2:
                raise RuntimeError(f"crash {runs}")
            await asyncio.sleep(3600)

        metrics = BrokerMetrics()
        supervisor = Supervisor(metrics, first_backoff=0.01, stable_after=0.5)
        supervisor.start("flaky", flaky)
        while runs < 3:
            await asyncio.sleep(0.01)
        during = supervisor.failing()
        deadline = time.monotonic() + 30
        while supervisor.failing() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        after = supervisor.failing()
        restarts = metrics.registry.get_sample_value(
            "blazar_events_broker_task_restarts_total", {"task": "flaky"}
        )
        await supervisor.stop()
        return during, after, restarts, runs

    during, after, restarts, runs = asyncio.run(main())
    assert "crash 2" in during["flaky"] and "2 crash(es)" in during["flaky"]
    assert after == {}
    assert restarts == 2 and runs == 3


def test_a_thread_that_raises_is_restarted_too() -> None:
    async def main() -> int:
        calls = 0
        release = threading.Event()

        def blocking() -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise OSError("socket closed")
            release.wait(30)

        supervisor = Supervisor(first_backoff=0.01)
        supervisor.start("thread", lambda: in_thread("t", blocking))
        deadline = time.monotonic() + 10
        while calls < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        release.set()
        await supervisor.stop()
        return calls

    assert asyncio.run(main()) == 2


def test_a_crashed_task_of_a_real_broker_turns_healthz_503_with_its_name(
    start_broker: Callable[..., RunningBroker],
) -> None:
    broker = start_broker()
    assembly = broker.assembly
    ok, details = assembly.health()
    assert ok, details

    def broken() -> None:
        raise RuntimeError("lanes bookkeeping broke")

    assembly.dispatcher.forget_idle_lanes = broken  # type: ignore[method-assign]
    deadline = time.monotonic() + 30
    while assembly.health()[0] and time.monotonic() < deadline:
        time.sleep(0.1)
    ok, details = assembly.health()
    assert not ok
    assert "lanes bookkeeping broke" in details["tasks"]["metrics"]
    assert details["tasks"]["retry-poller"] == "ok"
    failing = assembly.metrics.registry.get_sample_value(
        "blazar_events_broker_task_failing", {"task": "metrics"}
    )
    assert failing == 1


def test_a_kafka_consumer_that_fails_is_rebuilt_and_delivers(
    start_broker: Callable[..., RunningBroker],
    publish: Callable[[Any], None],
    store: SubscriptionStore,
    sink: Sink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = KafkaSource._new_consumer
    calls = 0

    def flaky(self: KafkaSource) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("bootstrap broker unreachable")
        return real(self)

    monkeypatch.setattr(KafkaSource, "_new_consumer", flaky)
    to_subscription(store, sink.url("a"), project_id="*")
    broker = start_broker()
    deadline = time.monotonic() + 30
    while broker.assembly.health()[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    ok, details = broker.assembly.health()  # shown until it has run 30 s without crashing
    assert not ok and "bootstrap broker unreachable" in details["kafka"]

    event = from_fixture("v2-lease.event.start_lease.json")
    publish(event)
    [received] = sink.wait_for(lambda r: len(r) >= 1, timeout=60)
    assert received.headers["webhook-id"] == event.get_id()
    restarts = broker.assembly.metrics.registry.get_sample_value(
        "blazar_events_broker_task_restarts_total", {"task": "kafka-consumer"}
    )
    assert restarts == 1
