import base64
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import redis

from blazar_events.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
)
from blazar_events.signing_keys import Sealer
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys
from tests.blazar_events.conftest import ids_for_type, make, set_keys
from tests.conftest import PrivateRedis


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
