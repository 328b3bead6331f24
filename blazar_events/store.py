"""Subscriptions in Redis: the records, their indexes, the change feed and delivery logs.

The only core module with I/O. Layout under ``<prefix>`` (names built in
:mod:`blazar_events.keys`):

* ``sub:<id>`` the subscription as JSON; ``keys:<id>`` its signing keys (never listed), sealed
  with the operator's key when one is configured (:class:`blazar_events.signing_keys.Sealer`);
* ``idx:all``, ``idx:project:<p>``, ``idx:lease:<l>``, ``idx:type:<t>`` (``*`` = every type),
  ``idx:dedicated:<p>`` (a project's subscriptions with a dedicated function):
  sorted sets of ids, all at score 0 so they order by id (ids sort by creation time), which
  gives stable ``marker`` pagination and lets matching avoid scanning every subscription;
* ``changes``: a Redis Stream of ``(op, id, version)`` that brokers and the operator follow;
* ``deliveries:<id>``: the newest delivery attempts, bounded;
* ``replays``: a Stream of replay and test requests that the broker executes.

The reads live in :mod:`blazar_events.queries`, the streams (change feed, delivery log, replay
requests) in :mod:`blazar_events.streams`.
Each write changes the record, its indexes and the change feed in one MULTI/EXEC, guarded by
WATCH for the version check; quotas are checked inside the same transaction, so concurrent
creates cannot overshoot them. Redis being down is :class:`ServiceUnavailable`; redis-py
reconnects by itself on the next call.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import redis

from blazar_events.errors import Conflict, NotFound, PreconditionFailed
from blazar_events.queries import SubscriptionQueries
from blazar_events.quotas import (
    CREATE_SCRIPT,
    NO_QUOTA,
    Quota,
    QuotaExceeded,
    to_quota_error,
)
from blazar_events.settings import RedisSettings
from blazar_events.signing_keys import Sealer
from blazar_events.streams import text, unavailable_on_outage
from blazar_events.subscription import SigningKeys, Status, Subscription, utcnow

R = TypeVar("R")


def to_sealer(redis_settings: RedisSettings) -> Sealer:
    """The sealer of ``[redis] secrets_key_file`` and ``secrets_keys``."""
    keys = redis_settings.secrets_keys
    return Sealer.from_settings(
        keys.get_secret_value() if keys else None, redis_settings.secrets_key_file
    )


_MAX_WATCH_RETRIES = 5


class SubscriptionStore(SubscriptionQueries):
    """Subscriptions, their signing keys and indexes: the writes; the reads come from
    :class:`~blazar_events.queries.SubscriptionQueries`, the streams from :class:`Streams`."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "blazar-events",
        *,
        delivery_log_size: int = 100,
        change_feed_size: int = 100_000,
        sealer: Sealer | None = None,
    ) -> None:
        """``sealer`` seals the signing keys at rest; by default from ``[redis]`` settings,
        so every component that reads the store opens them with the same operator keys."""
        super().__init__(
            client,
            prefix,
            delivery_log_size=delivery_log_size,
            change_feed_size=change_feed_size,
        )
        self.sealer = sealer or to_sealer(RedisSettings.load())
        self._create_script = client.register_script(CREATE_SCRIPT)

    # --- signing keys ---------------------------------------------------------------------

    @unavailable_on_outage
    def get_keys(self, sub_id: str) -> SigningKeys:
        """The signing keys, opened; keys stored in plaintext or under an older operator key
        are sealed again under the current one on the way (the read path migrates)."""
        key = self._keys_key(sub_id)
        raw = self.client.get(key)
        if raw is None:
            raise NotFound(f"subscription {sub_id} not found")
        keys, stale = self.sealer.open(raw)  # type: ignore[arg-type]
        if stale:
            self._reseal(key, raw)  # type: ignore[arg-type]
        return keys

    def _reseal(self, key: str, raw: bytes) -> bool:
        """Seal ``key`` again under the current operator key unless it changed meanwhile."""

        def body(pipe: Any) -> bool:
            if pipe.get(key) != raw:
                return False  # rotated or deleted since: whoever wrote it sealed it
            keys, _stale = self.sealer.open(raw)
            pipe.multi()
            pipe.set(key, self.sealer.seal(keys))
            pipe.execute()
            return True

        return self._transaction([key], body)

    @unavailable_on_outage
    def reseal_all(self) -> int:
        """Seal every subscription's keys under the current operator key (after adding a key
        in front, before removing the old one); returns how many were rewritten."""
        count = 0
        for sub_id in self._range(self._index("all"), None):
            key = self._keys_key(sub_id)
            raw = self.client.get(key)
            if raw is not None and self.sealer.open(raw)[1]:  # type: ignore[arg-type]
                count += self._reseal(key, raw)  # type: ignore[arg-type]
        return count

    # --- writes -------------------------------------------------------------------------------

    def _transaction(self, watch: builtins.list[str], body: Callable[[Any], R]) -> R:
        """Run ``body(pipe)`` under WATCH; retry when a concurrent write touched the keys."""
        for _ in range(_MAX_WATCH_RETRIES):
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(*watch)
                    return body(pipe)
                except redis.WatchError:
                    continue
        raise Conflict("the subscription changed concurrently too often; retry")

    @unavailable_on_outage
    def create(self, sub: Subscription, keys: SigningKeys, quota: Quota = NO_QUOTA) -> Subscription:
        """Store a new subscription; Conflict if the id exists or the project's ``quota``
        would be exceeded (checked in the same atomic step as the write)."""
        self.create_many([(sub, keys)], quota)
        return sub

    @unavailable_on_outage
    def create_many(
        self, items: Sequence[tuple[Subscription, SigningKeys]], quota: Quota = NO_QUOTA
    ) -> None:
        """Store several new subscriptions all or none, quotas counted over all of them.
        One round trip: a Lua script is atomic like MULTI/EXEC and needs no WATCH first."""
        keys: builtins.list[str] = [self.changes_key]
        args: builtins.list[str | bytes] = [
            str(self.change_feed_size),
            str(quota.subscriptions),
            str(quota.dedicated_functions),
        ]
        for sub, signing_keys in items:
            block = [
                self._sub_key(sub.id),
                self._keys_key(sub.id),
                self._index("project", sub.project_id),
                self._index("dedicated", sub.project_id),
                *sorted(self._indexes(sub)),
            ]
            keys.extend(block)
            args.extend(
                [
                    str(len(block)),
                    sub.model_dump_json(),
                    self.sealer.seal(signing_keys),
                    sub.id,
                    str(sub.version),
                    "1" if sub.dedicated_function else "0",
                ]
            )
        answer = [text(part) for part in self._create_script(keys=keys, args=args)]
        if answer[0] == "0":
            raise Conflict(f"subscription {answer[1]} already exists")
        if answer[0] == "-1":
            raise to_quota_error(self.prefix, answer[1], int(answer[2]))

    @unavailable_on_outage
    def update(
        self, sub: Subscription, expected_version: int | None = None, quota: Quota = NO_QUOTA
    ) -> Subscription:
        """Replace the record; ``version`` becomes the stored one + 1. 412 on a stale version.

        Without ``expected_version`` the record replaces whatever is stored (last writer
        wins): a caller that read the record first passes the version it read, so that a
        change made meanwhile (a 410 disabling it) is never overwritten.
        """
        return self._modify(sub.id, lambda _old: sub, expected_version, quota)

    @unavailable_on_outage
    def set_status(self, sub_id: str, status: Status, reason: str | None = None) -> Subscription:
        """Enable/disable (e.g. a 410 from the sink disables), whatever the version."""
        return self._modify(
            sub_id,
            lambda old: old.model_copy(update={"status": status, "status_reason": reason}),
            None,
        )

    @unavailable_on_outage
    def set_status_reason(
        self, sub_id: str, reason: str | None, expected_version: int | None = None
    ) -> Subscription:
        """Say why a subscription is not served as it should be, leaving its status alone
        (the broker: its filter raised). Never re-enables one disabled meanwhile. With
        ``expected_version``, 412 if the subscription changed since (a reason about filters
        just replaced must not land on the new ones)."""
        return self._modify(
            sub_id, lambda old: old.model_copy(update={"status_reason": reason}), expected_version
        )

    def _modify(
        self,
        sub_id: str,
        change: Callable[[Subscription], Subscription],
        expected_version: int | None,
        quota: Quota = NO_QUOTA,
    ) -> Subscription:
        key = self._sub_key(sub_id)

        def body(pipe: Any) -> Subscription:
            old = self._decode(pipe.get(key))
            if old is None:
                raise NotFound(f"subscription {sub_id} not found")
            if expected_version is not None and old.version != expected_version:
                raise PreconditionFailed(
                    f"subscription {sub_id} is at version {old.version}, "
                    f"not {expected_version}; fetch it again"
                )
            new = change(old).model_copy(
                update={
                    "id": sub_id,
                    "version": old.version + 1,
                    "created_at": old.created_at,
                    "updated_at": max(utcnow(), old.updated_at),
                }
            )
            old_indexes, new_indexes = self._indexes(old), self._indexes(new)
            self._check_growth(pipe, new, new_indexes - old_indexes, quota)
            pipe.multi()
            pipe.set(key, new.model_dump_json())
            for index in old_indexes - new_indexes:
                pipe.zrem(index, sub_id)
            for index in new_indexes - old_indexes:
                pipe.zadd(index, {sub_id: 0})
            self._record_change(pipe, "updated", sub_id, new.version)
            pipe.execute()
            return new

        return self._transaction([key], body)

    def _check_growth(self, pipe: Any, new: Subscription, added: set[str], quota: Quota) -> None:
        """Quotas of the indexes an update adds the subscription to (a move to another
        project, a dedicated function turned on), watched so the check holds at EXEC."""
        limits = {
            self._index("project", new.project_id): quota.subscriptions,
            self._index("dedicated", new.project_id): quota.dedicated_functions,
        }
        checked = [index for index in added if limits.get(index)]
        if not checked:
            return
        pipe.watch(*checked)
        for index in checked:
            if int(pipe.zcard(index)) + 1 > limits[index]:
                raise to_quota_error(self.prefix, index, limits[index])

    @unavailable_on_outage
    def delete(self, sub_id: str, expected_version: int | None = None) -> Subscription:
        key = self._sub_key(sub_id)

        def body(pipe: Any) -> Subscription:
            old = self._decode(pipe.get(key))
            if old is None:
                raise NotFound(f"subscription {sub_id} not found")
            if expected_version is not None and old.version != expected_version:
                raise PreconditionFailed(
                    f"subscription {sub_id} is at version {old.version}, not {expected_version}"
                )
            pipe.multi()
            pipe.delete(key, self._keys_key(sub_id), self._log_key(sub_id))
            for index in self._indexes(old):
                pipe.zrem(index, sub_id)
            self._record_change(pipe, "deleted", sub_id, old.version + 1)
            pipe.execute()
            return old

        return self._transaction([key], body)

    @unavailable_on_outage
    def rotate_secret(self, sub_id: str, grace: timedelta = timedelta(hours=24)) -> SigningKeys:
        """A new current secret; the old one keeps signing for ``grace``."""
        return self._change_keys(sub_id, lambda old: old.rotated(grace))

    @unavailable_on_outage
    def _change_keys(
        self, sub_id: str, change: Callable[[SigningKeys], SigningKeys]
    ) -> SigningKeys:
        """New keys, and the record's ``version`` + 1: a follower that missed the ``secret``
        change still sees, from the version alone, that the keys it holds are stale."""
        key, keys_key = self._sub_key(sub_id), self._keys_key(sub_id)

        def body(pipe: Any) -> SigningKeys:
            old_sub, raw = self._decode(pipe.get(key)), pipe.get(keys_key)
            if old_sub is None or raw is None:
                raise NotFound(f"subscription {sub_id} not found")
            keys = change(self.sealer.open(raw)[0])
            new_sub = old_sub.model_copy(
                update={"version": old_sub.version + 1,
                        "updated_at": max(utcnow(), old_sub.updated_at)}
            )  # fmt: skip
            pipe.multi()
            pipe.set(key, new_sub.model_dump_json())
            pipe.set(keys_key, self.sealer.seal(keys))
            self._record_change(pipe, "secret", sub_id, new_sub.version)
            pipe.execute()
            return keys

        return self._transaction([key, keys_key], body)


__all__ = ["NO_QUOTA", "Quota", "QuotaExceeded", "SubscriptionStore", "to_sealer"]
