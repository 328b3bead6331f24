"""Writes delivery attempts to the subscriptions' logs in Redis, off the delivery path.

Attempts are buffered and written once a second in a thread. Failures are always written;
successes up to ``per_second`` per subscription each second: the log keeps only the newest
entries anyway, and writing thousands of successes a second would cost more than delivering.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from blazar_events.errors import BlazarEventsError
from blazar_events.store import SubscriptionStore

log = logging.getLogger(__name__)

MAX_PENDING = 20_000  # entries buffered between two writes; more are dropped (and said so)


class DeliveryLog:
    def __init__(self, store: SubscriptionStore, per_second: int) -> None:
        self.store = store
        self.per_second = per_second
        self._pending: list[tuple[str, dict[str, Any]]] = []
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
        if len(self._pending) >= MAX_PENDING:  # Redis slow or down: bounded, like the rest
            self.dropped += 1
            return
        self._pending.append((sub_id, entry))

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        self._successes.clear()
        self._errors.clear()
        if self.dropped:
            log.warning("delivery log: %d entries dropped (writes too slow)", self.dropped)
            self.dropped = 0
        if batch:
            await asyncio.to_thread(self._write, batch)

    def _write(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        for sub_id, entry in batch:
            try:
                self.store.append_delivery(sub_id, entry)
            except BlazarEventsError as exc:  # best effort: the delivery itself happened
                log.warning("delivery log not written (%d entries): %s", len(batch), exc.message)
                return

    async def run(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self.flush()
