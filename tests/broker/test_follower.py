"""The broker's followers of the store on real Redis: the subscription cache sees every
change, a Redis outage is survived with a fresh snapshot, and each request runs once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from blazar_events.store import SubscriptionStore
from blazar_events.subscription import Subscription
from broker.follower import Change, ChangeFollower, RequestFollower
from tests.conftest import PrivateRedis
from tests.delivery.conftest import to_subscription


def eventually(condition: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the (generous) timeout"
        time.sleep(0.05)


class Cache:
    """What the broker keeps: the subscriptions, as the follower reports them."""

    def __init__(self) -> None:
        self.subs: dict[str, Subscription] = {}
        self.snapshots = 0
        self.keys_changed: list[str] = []

    def on_snapshot(self, subs: list[Subscription]) -> None:
        self.subs = {sub.id: sub for sub in subs}
        self.snapshots += 1

    def on_changes(self, changes: list[Change]) -> None:
        for sub_id, sub, keys in changes:
            if sub is None:
                self.subs.pop(sub_id, None)
            else:
                self.subs[sub_id] = sub
            if keys is not None:
                self.keys_changed.append(sub_id)


@pytest.fixture
def running() -> Iterator[Callable[[ChangeFollower | RequestFollower], None]]:
    started: list[tuple[ChangeFollower | RequestFollower, threading.Thread]] = []

    def start(follower: ChangeFollower | RequestFollower) -> None:
        thread = threading.Thread(target=follower.run, daemon=True)
        thread.start()
        started.append((follower, thread))

    yield start
    for follower, thread in started:
        follower.stop()
        thread.join(30)


def test_the_cache_follows_creates_updates_rotations_and_deletes(
    store: SubscriptionStore, running: Callable[[ChangeFollower], None]
) -> None:
    before, _ = to_subscription(store, "https://before.example.org/")
    cache = Cache()
    follower = ChangeFollower(store, cache.on_snapshot, cache.on_changes)
    running(follower)
    assert follower.ready.wait(60)
    assert set(cache.subs) == {before}
    after, _ = to_subscription(store, "https://after.example.org/")
    eventually(lambda: after in cache.subs)
    store.set_status(before, "DISABLED", "sink answered 410 Gone")
    eventually(lambda: cache.subs[before].status == "DISABLED")
    store.rotate_secret(after)
    eventually(lambda: cache.keys_changed == [after])
    store.delete(before)
    eventually(lambda: before not in cache.subs)
    assert set(cache.subs) == {after} and cache.snapshots == 1 and follower.healthy


def test_after_a_redis_outage_the_cache_is_loaded_again(
    private_redis: PrivateRedis, running: Callable[[ChangeFollower], None]
) -> None:
    store = SubscriptionStore(redis.Redis(port=private_redis.port, socket_timeout=2), "outage")
    first, _ = to_subscription(store, "https://first.example.org/")
    cache = Cache()
    follower = ChangeFollower(store, cache.on_snapshot, cache.on_changes)
    running(follower)
    assert follower.ready.wait(60)
    private_redis.stop()
    eventually(lambda: not follower.healthy)
    private_redis.start()  # empty: what was written meanwhile is only in a new snapshot
    second, _ = to_subscription(store, "https://second.example.org/")
    eventually(lambda: follower.healthy and second in cache.subs)
    assert first not in cache.subs and cache.snapshots >= 2


def test_each_request_runs_once_among_brokers_and_the_cursor_moves_on(
    store: SubscriptionStore, running: Callable[[RequestFollower], None]
) -> None:
    executed: list[dict[str, str]] = []
    lock = threading.Lock()

    def execute(fields: dict[str, str]) -> None:
        with lock:
            executed.append(fields)

    ids = [store.request_test(f"sub-{n}") for n in range(5)]
    for _ in range(3):
        running(RequestFollower(store, execute))
    eventually(lambda: len(executed) >= 5)
    later = store.request_snapshot("sub-9")
    eventually(lambda: len(executed) >= 6)
    time.sleep(1.0)  # room for a duplicate to show; none may
    assert sorted(f["request_id"] for f in executed) == sorted([*ids, later])
    cursor = store.client.get(store.keys.requests_cursor)
    assert cursor is not None and store.requests(cursor.decode()) == []
