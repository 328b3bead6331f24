"""Rate limits of replay and test on real Redis: shared by every worker and replica, per
subscription and per project, each caller limited on its own."""

from __future__ import annotations

import pytest
import redis

from api.throttle import admit, admit_project
from blazar_events.errors import ServiceUnavailable, TooManyRequests
from blazar_events.store import SubscriptionStore
from tests.conftest import PrivateRedis


def test_one_request_per_interval_per_subscription_and_route(
    store: SubscriptionStore, redis_url: str
) -> None:
    admit(store, "replay", "sub-1", 60)
    with pytest.raises(TooManyRequests, match="at most one request per 60 s") as refused:
        admit(store, "replay", "sub-1", 60)
    assert 1 <= refused.value.retry_after <= 60
    admit(store, "test", "sub-1", 60)  # the other route
    admit(store, "replay", "sub-2", 60)  # another subscription
    other_replica = SubscriptionStore(redis.Redis.from_url(redis_url), store.prefix)
    with pytest.raises(TooManyRequests):
        admit(other_replica, "replay", "sub-1", 60)


def test_a_projects_requests_together_are_capped_and_others_go_on(store: SubscriptionStore) -> None:
    for _ in range(3):
        admit_project(store, "p-a", 3, 60)
    with pytest.raises(TooManyRequests, match="at most 3 replay and test requests") as refused:
        admit_project(store, "p-a", 3, 60)
    assert 1 <= refused.value.retry_after <= 60
    admit_project(store, "p-b", 3, 60)


@pytest.mark.parametrize(("limit", "interval"), [(0, 60), (3, 0)])
def test_zero_means_no_limit(store: SubscriptionStore, limit: int, interval: int) -> None:
    for _ in range(20):
        admit(store, "test", "sub-1", 0)
        admit_project(store, "p-a", limit, interval)


def test_redis_away_is_service_unavailable(private_redis: PrivateRedis) -> None:
    store = SubscriptionStore(redis.Redis(port=private_redis.port, socket_timeout=2), "t")
    private_redis.stop()
    with pytest.raises(ServiceUnavailable):
        admit(store, "replay", "sub-1", 10)
    with pytest.raises(ServiceUnavailable):
        admit_project(store, "p-a", 3, 10)
