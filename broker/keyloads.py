"""Signing keys loaded on a subscription's first delivery: one load per subscription,
however many of its deliveries ask at once, retried while the store is unreachable."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from blazar_events.errors import NotFound
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys
from broker.index import Entry, active_secrets

Durably = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


class KeyLoads:
    def __init__(self, store: SubscriptionStore, durably: Durably) -> None:
        self.store = store
        self._durably = durably
        self._loading: dict[str, asyncio.Future[SigningKeys]] = {}

    async def secrets(self, entry: Entry) -> list[str] | None:
        """The entry's active secrets, its keys loaded first if they are not yet; None if
        the subscription is gone from the store."""
        if entry.keys is None:
            loading = self._loading.get(entry.id)
            if loading is None:
                loading = asyncio.ensure_future(self._durably(
                    lambda: asyncio.to_thread(self.store.get_keys, entry.id)
                ))  # fmt: skip
                self._loading[entry.id] = loading
                loading.add_done_callback(lambda _f: self._loading.pop(entry.id, None))
            try:
                entry.keys = await asyncio.shield(loading)
            except NotFound:
                return None
        return active_secrets(entry)
