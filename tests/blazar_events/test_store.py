import base64
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from blazar_events.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
)
from blazar_events.signing_keys import Sealer
from blazar_events.store import Quota, QuotaExceeded, SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription, from_input
from tests.blazar_events.conftest import ids_for_type, set_keys
from tests.conftest import PrivateRedis


@pytest.fixture
def store(redis_url: str) -> Iterator[SubscriptionStore]:
    client = redis.Redis.from_url(redis_url)
    prefix = f"test-{uuid.uuid4().hex}"
    yield SubscriptionStore(client, prefix, delivery_log_size=5, sealer=Sealer())
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)
    client.close()


def make(project_id: str = "project-a", **body: Any) -> Subscription:
    spec = from_input({"sink": "https://hooks.example.org/", **body})
    return Subscription.from_input(spec, project_id=project_id)


def test_create_then_get_returns_the_same_subscription(store: SubscriptionStore) -> None:
    sub = make(types=["lease.create"], lease_id="lease-1")
    store.create(sub, SigningKeys.generate())
    assert store.get(sub.id) == sub


def test_secret_is_kept_apart_from_the_record(store: SubscriptionStore) -> None:
    sub, keys = make(), SigningKeys.generate()
    store.create(sub, keys)
    assert store.get_keys(sub.id) == keys
    assert keys.current not in store.get(sub.id).model_dump_json()


def test_update_bumps_version_and_refuses_a_stale_one(store: SubscriptionStore) -> None:
    sub = store.create(make(), SigningKeys.generate())
    renamed = store.update(sub.model_copy(update={"name": "renamed"}), expected_version=1)
    assert (renamed.version, renamed.name, renamed.created_at) == (2, "renamed", sub.created_at)
    assert renamed.updated_at >= sub.updated_at
    with pytest.raises(PreconditionFailed, match="version 2"):
        store.update(sub.model_copy(update={"name": "late"}), expected_version=1)
    assert store.get(sub.id).name == "renamed"


def test_concurrent_updates_at_the_same_version_let_exactly_one_win(
    store: SubscriptionStore,
) -> None:
    sub = store.create(make(), SigningKeys.generate())

    def attempt(n: int) -> str:
        try:
            store.update(sub.model_copy(update={"name": f"n{n}"}), expected_version=1)
            return "ok"
        except PreconditionFailed:
            return "stale"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("ok") == 1
    assert store.get(sub.id).version == 2


def test_update_moves_the_indexes(store: SubscriptionStore) -> None:
    sub = store.create(make(lease_id="lease-1", types=["lease.create"]), SigningKeys.generate())
    moved = sub.model_copy(
        update={"lease_id": "lease-2", "types": ["org.openstack.blazar.lease.delete"]}
    )
    store.update(moved, expected_version=1)
    assert store.list("project-a", lease_id="lease-1") == []
    assert [s.id for s in store.list("project-a", lease_id="lease-2")] == [sub.id]
    assert sub.id not in ids_for_type(store, "org.openstack.blazar.lease.create")
    assert sub.id in ids_for_type(store, "org.openstack.blazar.lease.delete")


def test_delete_removes_record_indexes_secret_and_log(store: SubscriptionStore) -> None:
    sub = store.create(make(lease_id="lease-1"), SigningKeys.generate())
    store.append_delivery(sub.id, {"status": 200})
    store.delete(sub.id)
    with pytest.raises(NotFound):
        store.get(sub.id)
    with pytest.raises(NotFound):
        store.get_keys(sub.id)
    assert store.list("project-a") == [] and store.all() == []
    assert store.deliveries(sub.id) == []
    with pytest.raises(NotFound):
        store.delete(sub.id)


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


def test_set_status_keeps_the_other_fields(store: SubscriptionStore) -> None:
    sub = store.create(make(name="keep"), SigningKeys.generate())
    disabled = store.set_status(sub.id, "DISABLED", "sink answered 410 Gone")
    assert (disabled.status, disabled.status_reason, disabled.name) == (
        "DISABLED",
        "sink answered 410 Gone",
        "keep",
    )
    assert disabled.version == 2


def test_rotation_keeps_the_old_secret_during_the_grace(store: SubscriptionStore) -> None:
    keys = SigningKeys.generate()
    sub = store.create(make(), keys)
    rotated = store.rotate_secret(sub.id, timedelta(hours=24))
    assert store.get_keys(sub.id) == rotated
    now = datetime.now(UTC)
    assert rotated.active(now) == [rotated.current, keys.current]
    assert rotated.active(now + timedelta(hours=25)) == [rotated.current]


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


def test_redis_down_is_service_unavailable_and_recovers(private_redis: PrivateRedis) -> None:
    store = SubscriptionStore(redis.Redis(port=private_redis.port, socket_timeout=2), "outage")
    sub = store.create(make(), SigningKeys.generate())
    private_redis.stop()
    with pytest.raises(ServiceUnavailable, match="Redis"):
        store.get(sub.id)
    with pytest.raises(ServiceUnavailable):
        store.list("project-a")
    private_redis.start()
    with pytest.raises(NotFound):  # a fresh, empty Redis: reachable again
        store.get(sub.id)


def test_creating_an_existing_id_is_a_conflict_and_changes_nothing(
    store: SubscriptionStore,
) -> None:
    keys = SigningKeys.generate()
    sub = store.create(make(name="first"), keys)
    start = store.last_change_id()
    with pytest.raises(Conflict, match="already exists"):
        store.create(sub.model_copy(update={"name": "second"}), SigningKeys.generate())
    assert store.get(sub.id).name == "first" and store.get_keys(sub.id) == keys
    assert store.changes(start) == []


def test_set_keys_replaces_them_and_tells_the_followers(store: SubscriptionStore) -> None:
    sub = store.create(make(), SigningKeys.generate())
    start = store.last_change_id()
    chosen = SigningKeys(current=SigningKeys.new_secret())
    assert set_keys(store, sub.id, chosen) == chosen
    assert store.get_keys(sub.id) == chosen
    assert [(op, i) for _, op, i in store.changes(start)] == [("secret", sub.id)]
    with pytest.raises(NotFound):
        set_keys(store, str(uuid.uuid4()), chosen)


# --- quotas: checked in the same atomic step as the write ---------------------------------


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


# --- rotation moves the version --------------------------------------------------------------


def test_rotation_bumps_the_version_and_feeds_it(store: SubscriptionStore) -> None:
    sub = store.create(make(), SigningKeys.generate())
    start = store.last_change_id()
    store.rotate_secret(sub.id)
    assert store.get(sub.id).version == sub.version + 1
    set_keys(store, sub.id, SigningKeys.generate())
    assert store.get(sub.id).version == sub.version + 2
    entries = store.client.xrange(store.changes_key, f"({start}", "+")
    assert [fields[b"version"] for _, fields in entries] == [b"2", b"3"]


# --- signing keys sealed at rest -------------------------------------------------------------


def sealed_store(client: redis.Redis, prefix: str, *keys: str) -> SubscriptionStore:
    return SubscriptionStore(client, prefix, sealer=Sealer(keys))


def test_secrets_are_encrypted_at_rest(store: SubscriptionStore) -> None:
    sealed = sealed_store(store.client, store.prefix, Sealer.generate_key())
    sub, keys = make(), SigningKeys.generate()
    sealed.create(sub, keys)
    raw = store.client.get(sealed._keys_key(sub.id))
    assert raw is not None and raw.startswith(b"fernet:")
    secret_bytes = base64.b64decode(keys.current.removeprefix("whsec_"))
    assert keys.current.encode() not in raw and secret_bytes not in raw
    assert sealed.get_keys(sub.id) == keys
    rotated = sealed.rotate_secret(sub.id)
    assert rotated.current.encode() not in store.client.get(sealed._keys_key(sub.id))  # type: ignore[operator]
    assert sealed.get_keys(sub.id) == rotated


def test_plaintext_secrets_keep_working_and_are_sealed_on_read(store: SubscriptionStore) -> None:
    sub, keys = make(), SigningKeys.generate()
    store.create(sub, keys)  # an older release: plaintext
    assert store.client.get(store._keys_key(sub.id)).startswith(b"{")  # type: ignore[union-attr]
    sealed = sealed_store(store.client, store.prefix, Sealer.generate_key())
    assert sealed.get_keys(sub.id) == keys
    assert store.client.get(store._keys_key(sub.id)).startswith(b"fernet:")  # type: ignore[union-attr]
    assert sealed.get_keys(sub.id) == keys


def test_operator_key_rotation_reads_old_and_reseals_under_the_new(
    store: SubscriptionStore,
) -> None:
    old_key, new_key = Sealer.generate_key(), Sealer.generate_key()
    before = sealed_store(store.client, store.prefix, old_key)
    subs = [before.create(make(), SigningKeys.generate()) for _ in range(3)]
    expected = {sub.id: before.get_keys(sub.id) for sub in subs}
    after = sealed_store(store.client, store.prefix, new_key, old_key)
    assert after.get_keys(subs[0].id) == expected[subs[0].id]  # read, and resealed on the way
    assert after.reseal_all() == 2
    assert after.reseal_all() == 0
    only_new = sealed_store(store.client, store.prefix, new_key)
    assert {sub.id: only_new.get_keys(sub.id) for sub in subs} == expected
    with pytest.raises(ServiceUnavailable, match="missing from"):
        sealed_store(store.client, store.prefix, old_key).get_keys(subs[0].id)


def test_sealed_secrets_without_a_key_are_unavailable_not_garbage(
    store: SubscriptionStore,
) -> None:
    sealed = sealed_store(store.client, store.prefix, Sealer.generate_key())
    sub = sealed.create(make(), SigningKeys.generate())
    with pytest.raises(ServiceUnavailable, match="secrets_keys"):
        store.get_keys(sub.id)


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
