"""Incidents on real Redis: what one subscription's raising filter or sink leaves behind, on
that subscription only (its delivery log, its status_reason, the error counter)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from blazar_events.status_reasons import MAX_REASON, to_reason
from blazar_events.store import SubscriptionStore
from broker.deliverylog import DeliveryLog
from broker.incidents import Incidents
from broker.index import from_subscription_entry
from broker.metrics import BrokerMetrics
from tests.delivery.conftest import to_subscription


def parts(
    store: SubscriptionStore, per_second: int = 20
) -> tuple[Incidents, DeliveryLog, BrokerMetrics]:
    log, metrics = DeliveryLog(store, per_second=per_second), BrokerMetrics()
    return Incidents(store, log, metrics), log, metrics


async def settle(incidents: Incidents, log: DeliveryLog) -> None:
    while incidents._writes:
        await asyncio.gather(*incidents._writes)
    await log.flush()


def test_a_filter_that_raises_is_recorded_on_its_subscription_only(
    store: SubscriptionStore,
) -> None:
    noisy, _ = to_subscription(store, "https://noisy.example.org/")
    quiet, _ = to_subscription(store, "https://quiet.example.org/")
    incidents, log, metrics = parts(store)

    async def main() -> None:
        entry = from_subscription_entry(store.get(noisy))
        incidents.record(entry, "match", ZeroDivisionError("division by zero"), "e-1", "t", 0)
        await settle(incidents, log)

    asyncio.run(main())
    reason = "its filters could not be evaluated: ZeroDivisionError: division by zero"
    assert store.get(noisy).status_reason == reason
    assert store.get(noisy).status == "ACTIVE"
    (logged,) = store.deliveries(noisy)
    assert (logged["event_id"], logged["outcome"], logged["error"]) == ("e-1", "error", reason)
    assert store.get(quiet).status_reason is None and store.deliveries(quiet) == []
    assert (
        metrics.registry.get_sample_value("blazar_events_broker_errors_total", {"stage": "match"})
        == 1
    )


def test_errors_in_the_delivery_log_are_bounded_per_second(store: SubscriptionStore) -> None:
    sub_id, _ = to_subscription(store, "https://noisy.example.org/")
    incidents, log, metrics = parts(store, per_second=3)

    async def main() -> None:
        entry = from_subscription_entry(store.get(sub_id))
        for n in range(50):
            incidents.record(entry, "deliver", OSError("reset"), f"e-{n}", "t", 1)
        await settle(incidents, log)

    asyncio.run(main())
    assert [e["event_id"] for e in store.deliveries(sub_id)] == ["e-2", "e-1", "e-0"]
    assert (
        metrics.registry.get_sample_value("blazar_events_broker_errors_total", {"stage": "deliver"})
        == 50
    )


def test_a_success_clears_a_delivery_reason_and_new_filters_a_match_reason(
    store: SubscriptionStore,
) -> None:
    sub_id, _ = to_subscription(store, "https://s.example.org/")
    incidents, log, _ = parts(store)

    async def main() -> None:
        incidents.record(
            from_subscription_entry(store.get(sub_id)), "deliver", OSError("x"), "e", "t"
        )
        await settle(incidents, log)
        assert (store.get(sub_id).status_reason or "").startswith("delivering failed")
        incidents.delivered(from_subscription_entry(store.get(sub_id)))
        await settle(incidents, log)
        assert store.get(sub_id).status_reason is None
        incidents.record(
            from_subscription_entry(store.get(sub_id)), "match", KeyError("k"), "e", "t"
        )
        await settle(incidents, log)
        old = store.get(sub_id)
        assert (old.status_reason or "").startswith("its filters")
        incidents.changed(old, old)  # the same filters: the reason still holds
        await settle(incidents, log)
        assert store.get(sub_id).status_reason == old.status_reason
        new = old.model_copy(update={"filters": [{"exact": {"type": "x"}}]})
        incidents.changed(old, new)
        await settle(incidents, log)

    asyncio.run(main())
    assert store.get(sub_id).status_reason is None


def test_recording_never_raises_and_a_deleted_subscription_is_no_incident_of_its_own(
    store: SubscriptionStore, caplog: pytest.LogCaptureFixture
) -> None:
    sub_id, _ = to_subscription(store, "https://s.example.org/")
    incidents, log, _ = parts(store)
    entry = from_subscription_entry(store.get(sub_id))
    store.delete(sub_id)

    async def main() -> None:
        incidents.record(entry, "deliver", OSError("x"), "e", "t")
        await settle(incidents, log)
        broken = Incidents(None, None, None)  # type: ignore[arg-type]
        broken.record(entry, "deliver", OSError("x"), "e", "t")

    with caplog.at_level(logging.WARNING, "broker.incidents"):
        asyncio.run(main())
    assert any("not written" in r.getMessage() for r in caplog.records)
    assert any("could not record" in r.getMessage() for r in caplog.records)


def test_a_traceback_is_logged_once_a_minute_per_subscription(
    store: SubscriptionStore, caplog: pytest.LogCaptureFixture
) -> None:
    one, _ = to_subscription(store, "https://one.example.org/")
    two, _ = to_subscription(store, "https://two.example.org/")
    incidents, _, _ = parts(store)
    with caplog.at_level(logging.WARNING, "broker.incidents"):
        for sub_id in (one, one, one, two):  # no running loop: no status_reason write
            incidents.record(
                from_subscription_entry(store.get(sub_id)), "match", KeyError("k"), "e", "t"
            )
    failed = [r for r in caplog.records if "match failed" in r.getMessage()]
    assert [one in r.getMessage() for r in failed] == [True, False]
    assert all(r.exc_info is not None for r in failed)


def test_a_reason_is_bounded_whatever_the_error_says() -> None:
    reason = to_reason("deliver", ValueError("x" * 10_000))
    assert len(reason) == MAX_REASON and reason.startswith("delivering failed: ValueError: x")
