"""Writes delivery attempts to the subscriptions' logs in Redis, off the delivery path.

Attempts are buffered and written once a second in a thread. Failures are always written;
successes up to ``per_second`` per subscription each second: the log keeps only the newest
entries anyway, and writing thousands of successes a second would cost more than delivering.
Of one subscription, a second's buffer keeps only the newest entries its log keeps
(``delivery_log_size``): a burst of failures (a replay to a sink answering 503 at once)
writes what the log would end up holding anyway, and leaves the shared buffer to the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from typing import Any

from blazar_events.errors import BlazarEventsError
from blazar_events.store import SubscriptionStore

log = logging.getLogger(__name__)

MAX_PENDING = 20_000  # entries buffered between two writes; more are dropped (and said so)
WRITE_BATCH = 1000  # entries written in one pipeline


class DeliveryLog:
    def __init__(self, store: SubscriptionStore, per_second: int) -> None:
        self.store = store
        self.per_second = per_second
        self.kept = int(getattr(store, "delivery_log_size", 100))  # entries a log holds
        self._pending: dict[str, deque[dict[str, Any]]] = {}
        self._count = 0
        self._successes: dict[str, int] = defaultdict(int)
        self._errors: dict[str, int] = defaultdict(int)
        self.dropped = 0

    def wants(self, sub_id: str, outcome: str) -> bool:
        """Whether an attempt with this outcome will be written (build the entry only then)."""
        if outcome != "delivered":
            return True
        if self._successes[sub_id] >= self.per_second:
            return False
        self._successes[sub_id] += 1
        return True

    def wants_error(self, sub_id: str) -> bool:
        """Errors contained for one subscription (a filter raising on every event) are
        written like successes: ``per_second`` at most, so one tenant cannot flood Redis."""
        if self._errors[sub_id] >= self.per_second:
            return False
        self._errors[sub_id] += 1
        return True

    def add(self, sub_id: str, entry: dict[str, Any]) -> None:
        pending = self._pending.get(sub_id)
        if pending is not None and len(pending) >= self.kept:
            pending.append(entry)  # its oldest goes: the log would trim it anyway
            return
        if self._count >= MAX_PENDING:  # Redis slow or down: bounded, like the rest
            self.dropped += 1
            return
        if pending is None:
            pending = self._pending[sub_id] = deque(maxlen=self.kept)
        pending.append(entry)
        self._count += 1

    async def flush(self) -> None:
        pending, self._pending, self._count = self._pending, {}, 0
        self._successes.clear()
        self._errors.clear()
        if self.dropped:
            log.warning("delivery log: %d entries dropped (writes too slow)", self.dropped)
            self.dropped = 0
        if pending:
            await asyncio.to_thread(self._write, pending)

    def _write(self, pending: dict[str, deque[dict[str, Any]]]) -> None:
        # One pipeline per WRITE_BATCH entries: a second's entries cost a round trip or a
        # few, not one each.
        batch: dict[str, list[dict[str, Any]]] = {}
        size = 0
        for n, (sub_id, entries) in enumerate(pending.items()):
            batch[sub_id] = list(entries)
            size += len(entries)
            if size >= WRITE_BATCH or n == len(pending) - 1:
                try:
                    self.store.append_deliveries(batch)
                except BlazarEventsError as exc:  # best effort: the deliveries happened
                    log.warning("delivery log not written (%d entries): %s", size, exc.message)
                    return
                batch, size = {}, 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self.flush()
