"""Per-project quotas on real Redis: checked in the same atomic step as the write, so no
interleaving of creates, batches or updates takes a project past its quota."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from blazar_events.quotas import Quota, QuotaExceeded
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys
from tests.blazar_events.conftest import make


def test_concurrent_creates_never_exceed_the_quota(store: SubscriptionStore) -> None:
    quota = Quota(subscriptions=5)
    start = threading.Barrier(24)

    def attempt(_n: int) -> bool:
        start.wait()
        try:
            store.create(make("project-q"), SigningKeys.generate(), quota)
        except QuotaExceeded:
            return False
        return True

    with ThreadPoolExecutor(24) as pool:
        created = list(pool.map(attempt, range(24)))
    assert sum(created) == 5
    assert store.count("project-q") == 5


def test_a_batch_is_created_all_or_none_within_the_quota(store: SubscriptionStore) -> None:
    quota = Quota(subscriptions=3)
    store.create(make("project-q"), SigningKeys.generate(), quota)
    batch = [(make("project-q"), SigningKeys.generate()) for _ in range(3)]
    with pytest.raises(QuotaExceeded, match="at most 3 subscriptions"):
        store.create_many(batch, quota)
    assert store.count("project-q") == 1  # nothing of the refused batch was stored
    store.create_many(batch[:2], quota)
    assert store.count("project-q") == 3
    assert store.count("project-other") == 0


def test_dedicated_functions_have_their_own_cap(store: SubscriptionStore) -> None:
    quota = Quota(subscriptions=10, dedicated_functions=1)
    first = store.create(make(dedicated_function=True), SigningKeys.generate(), quota)
    with pytest.raises(QuotaExceeded, match="dedicated function"):
        store.create(make(dedicated_function=True), SigningKeys.generate(), quota)
    plain = store.create(make(), SigningKeys.generate(), quota)
    turned_on = plain.model_copy(update={"dedicated_function": True})
    with pytest.raises(QuotaExceeded, match="dedicated function"):
        store.update(turned_on, quota=quota)
    store.update(first.model_copy(update={"dedicated_function": False}), quota=quota)
    assert store.update(turned_on, quota=quota).dedicated_function  # the slot is free again


def test_moving_a_subscription_counts_against_the_target_project(
    store: SubscriptionStore,
) -> None:
    quota = Quota(subscriptions=1)
    store.create(make("project-full"), SigningKeys.generate(), quota)
    mover = store.create(make("project-a"), SigningKeys.generate(), quota)
    with pytest.raises(QuotaExceeded):
        store.update(mover.model_copy(update={"project_id": "project-full"}), quota=quota)
    assert store.get(mover.id).project_id == "project-a"
