"""Threads that follow the store's streams: subscription changes, and replay/test requests.

The cache starts from a snapshot (``store.all()``) taken after noting the change feed's
position, then applies each change; after a Redis outage it takes a new snapshot, since
changes made meanwhile may be missing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from blazar_events.errors import BlazarEventsError, NotFound
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription

log = logging.getLogger(__name__)

Change = tuple[str, Subscription | None, SigningKeys | None]  # (id, None if deleted, new keys)
Snapshot = list[Subscription]


class ChangeFollower:
    """Runs in the thread of a supervised task (:meth:`run` blocks until :meth:`stop`)."""

    def __init__(
        self,
        store: SubscriptionStore,
        on_snapshot: Callable[[Snapshot], None],
        on_changes: Callable[[list[Change]], None],
    ) -> None:
        self.store = store
        self.on_snapshot = on_snapshot
        self.on_changes = on_changes
        self.ready = threading.Event()
        self.healthy = True
        self._halt = threading.Event()

    def snapshot(self) -> str:
        """Load every subscription; returns the change-feed position to follow from."""
        last = self.store.last_change_id()
        subs = self.store.all()
        self.on_snapshot(subs)
        log.info("loaded %d subscription(s); following changes after %s", len(subs), last)
        self.ready.set()
        return last

    def run(self) -> None:
        last: str | None = None
        while not self._halt.is_set():
            try:
                if last is None:
                    last = self.snapshot()
                    self.healthy = True
                changes = self.store.changes(last, block_ms=500)
                if changes:
                    log.info("%d subscription change(s)", len(changes))
                    last = changes[-1][0]
                    self.on_changes([self._load(op, sub_id) for _, op, sub_id in changes])
            except BlazarEventsError as exc:
                if self.healthy:
                    log.warning("subscription store unavailable, will reload: %s", exc.message)
                self.healthy = False
                last = None
                self._halt.wait(1.0)

    def _load(self, op: str, sub_id: str) -> Change:
        if op == "deleted":
            return (sub_id, None, None)
        try:
            sub = self.store.get(sub_id)
            keys = self.store.get_keys(sub_id) if op == "secret" else None
        except NotFound:
            return (sub_id, None, None)
        return (sub_id, sub, keys)

    def stop(self) -> None:
        self._halt.set()


class RequestFollower:
    """Replay and test requests (``POST .../replay``, ``.../test``); one broker runs each.

    Runs in the thread of a supervised task (:meth:`run` blocks until :meth:`stop`)."""

    def __init__(self, store: SubscriptionStore, execute: Callable[[dict[str, str]], None]) -> None:
        self.store = store
        self.execute = execute
        self.cursor_key = store.keys.requests_cursor
        self._halt = threading.Event()

    def run(self) -> None:
        last: str | None = None
        while not self._halt.is_set():
            try:
                if last is None:
                    raw: Any = self.store.client.get(self.cursor_key)
                    last = raw.decode() if isinstance(raw, bytes) else str(raw or "0-0")
                for stream_id, fields in self.store.requests(last, block_ms=500):
                    last = stream_id
                    if self._claim(fields.get("request_id", stream_id)):
                        self.execute(fields)
                    self.store.client.set(self.cursor_key, stream_id)
            except (BlazarEventsError, OSError) as exc:
                log.warning("replay requests unavailable: %s", exc)
                last = None
                self._halt.wait(1.0)
            except Exception as exc:  # redis-py errors outside the store's guard
                log.warning("replay requests unavailable: %s: %s", type(exc).__name__, exc)
                last = None
                self._halt.wait(1.0)

    def _claim(self, request_id: str) -> bool:
        key = self.store.keys.request_claim(request_id)
        return bool(self.store.client.set(key, str(time.time()), nx=True, ex=7 * 24 * 3600))

    def stop(self) -> None:
        self._halt.set()
