"""The store's streams on real Redis: the change feed, delivery logs and broker requests."""

from datetime import UTC, datetime, timedelta

import pytest

from blazar_events.errors import ServiceUnavailable
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys
from tests.blazar_events.conftest import make


def test_change_feed_reports_every_write_in_order(store: SubscriptionStore) -> None:
    start = store.last_change_id()
    sub = store.create(make(), SigningKeys.generate())
    store.update(sub, expected_version=1)
    store.set_status(sub.id, "DISABLED", "sink answered 410 Gone")
    store.rotate_secret(sub.id)
    store.delete(sub.id)
    changes = store.changes(start)
    assert [(op, i) for _, op, i in changes] == [
        ("created", sub.id),
        ("updated", sub.id),
        ("updated", sub.id),
        ("secret", sub.id),
        ("deleted", sub.id),
    ]
    assert store.changes(changes[-1][0], block_ms=10) == []


def test_delivery_log_is_bounded_and_newest_first(store: SubscriptionStore) -> None:
    sub = store.create(make(), SigningKeys.generate())
    for n in range(8):
        store.append_delivery(sub.id, {"attempt": n})
    assert [d["attempt"] for d in store.deliveries(sub.id, limit=50)] == [7, 6, 5, 4, 3]
    assert [d["attempt"] for d in store.deliveries(sub.id, limit=2)] == [7, 6]


def test_replay_and_test_requests_reach_the_stream(store: SubscriptionStore) -> None:
    since = datetime(2026, 7, 10, 12, tzinfo=UTC)
    replay_id = store.request_replay("sub-1", since, since + timedelta(hours=1))
    test_id = store.request_test("sub-1")
    requests = [fields for _, fields in store.requests()]
    assert requests == [
        {
            "kind": "replay",
            "subscription_id": "sub-1",
            "since": "2026-07-10T12:00:00+00:00",
            "until": "2026-07-10T13:00:00+00:00",
            "request_id": replay_id,
        },
        {"kind": "test", "subscription_id": "sub-1", "request_id": test_id},
    ]


def test_waiting_requests_are_never_trimmed_and_a_full_queue_refuses(
    store: SubscriptionStore,
) -> None:
    store.max_pending_requests = 3
    accepted = [store.request_test(f"sub-{n}") for n in range(3)]
    with pytest.raises(ServiceUnavailable, match="already waiting"):
        store.request_test("sub-late")
    waiting = [fields["request_id"] for _, fields in store.requests()]
    assert waiting == accepted  # every request answered 202 is still there for a broker
    # A broker passes the first two (its cursor): they make room, the third stays.
    passed = store.requests()[1][0]
    store.client.set(store.requests_cursor_key, passed)
    late = store.request_test("sub-late")
    assert [fields["request_id"] for _, fields in store.requests(passed)] == [accepted[2], late]
