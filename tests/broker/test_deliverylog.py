"""The broker's delivery-log writer on real Redis: one subscription's burst of failures
never costs another subscription its entries."""

from __future__ import annotations

import asyncio
from typing import Any

from blazar_events.store import SubscriptionStore
from broker.deliverylog import MAX_PENDING, DeliveryLog
from broker.incidents import to_entry
from tests.delivery.conftest import to_subscription


def attempt(n: int, outcome: str = "retry") -> dict[str, Any]:
    return {**to_entry(f"event-{n}", "t", 1, "the sink answered 503"), "outcome": outcome}


def test_a_burst_of_one_subscription_leaves_room_for_the_others(store: SubscriptionStore) -> None:
    """A replay to a sink answering 503 at once makes thousands of failed attempts a second,
    all written ("failures are always written") through one buffer shared by every tenant."""
    noisy, _ = to_subscription(store, "https://noisy.example.org/")
    quiet, _ = to_subscription(store, "https://quiet.example.org/")
    log = DeliveryLog(store, per_second=20)
    for n in range(MAX_PENDING + 10):
        log.add(noisy, attempt(n))
    log.add(quiet, attempt(0))

    asyncio.run(log.flush())

    assert [e["event_id"] for e in store.deliveries(quiet)] == ["event-0"]
    # The noisy log holds what it would have held anyway: its newest attempts.
    newest = [e["event_id"] for e in store.deliveries(noisy)]
    last = MAX_PENDING + 9
    assert newest and newest == [f"event-{n}" for n in range(last, last - len(newest), -1)]
    assert store.client.llen(f"{store.prefix}:deliveries:{noisy}") == store.delivery_log_size


def test_a_seconds_entries_of_many_subscriptions_are_written_newest_first(
    store: SubscriptionStore,
) -> None:
    """Written in pipelines of many subscriptions at once; each log reads as it always did:
    the newest attempt first, no more than the log keeps."""
    subs = [to_subscription(store, f"https://s{n}.example.org/")[0] for n in range(3)]
    log = DeliveryLog(store, per_second=20)
    kept = store.delivery_log_size
    counts = [10, 20, kept + 5]
    for n in range(kept + 5):
        for sub, count in zip(subs, counts, strict=True):
            if n < count:
                log.add(sub, attempt(n))
    for sub in subs[:2]:  # a few more, as the next second's flush writes them
        log.add(sub, attempt(1000))

    asyncio.run(log.flush())

    for sub, count in zip(subs[:2], counts, strict=False):
        written = [e["event_id"] for e in store.deliveries(sub, limit=kept)]
        assert written == ["event-1000"] + [f"event-{n}" for n in range(count - 1, -1, -1)]
    newest = [e["event_id"] for e in store.deliveries(subs[2], limit=kept)]
    assert newest == [f"event-{n}" for n in range(kept + 4, 4, -1)]
