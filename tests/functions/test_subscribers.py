"""What the function keeps in the store (functions/subscribers.py), on real Redis: a failing
filter's reason is written once, and never onto filters that replaced the failing ones."""

from __future__ import annotations

from blazar_events.status_reasons import to_reason
from blazar_events.store import SubscriptionStore
from functions.subscribers import Subscribers
from tests.delivery.conftest import to_subscription


def test_a_reason_is_written_once_per_version(store: SubscriptionStore) -> None:
    sub_id, _ = to_subscription(store, "https://hooks.example.org/")
    subscribers = Subscribers(store)
    read = store.get(sub_id)
    reason = to_reason("match", ValueError("x"))
    for _ in range(3):  # three calls that read the same version
        subscribers.note(read, reason)
    stored = store.get(sub_id)
    assert stored.status_reason == reason
    assert stored.version == read.version + 1


def test_a_reason_about_replaced_filters_is_not_written_on_the_new_ones(
    store: SubscriptionStore,
) -> None:
    sub_id, _ = to_subscription(store, "https://hooks.example.org/")
    read = store.get(sub_id)  # a call read this version; its filters then failed
    fixed = read.model_copy(update={"filters": [{"prefix": {"type": "org."}}]})
    store.update(fixed)  # meanwhile the tenant replaced them
    Subscribers(store).note(read, to_reason("match", ValueError("old filters")))
    assert store.get(sub_id).status_reason is None
