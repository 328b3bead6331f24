"""Signing keys are loaded once per subscription however many deliveries ask at once; a
subscription gone from the store has no secrets. Pure logic: the store is a stand-in."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from blazar_events.errors import NotFound
from blazar_events.subscription import SigningKeys, Subscription
from broker.durable import Durably
from broker.index import from_subscription_entry
from broker.keyloads import KeyLoads


class Store:
    def __init__(self, keys: SigningKeys | None) -> None:
        self.keys = keys
        self.loads = 0
        self.lock = threading.Lock()

    def get_keys(self, sub_id: str) -> SigningKeys:
        with self.lock:
            self.loads += 1
        if self.keys is None:
            raise NotFound(f"subscription {sub_id}")
        return self.keys


def load(store: Store, askers: int) -> list[Any]:
    entry = from_subscription_entry(Subscription(project_id="p", sink="http://sink.test/"))
    loads = KeyLoads(store, Durably((OSError,), lambda: False))  # type: ignore[arg-type]

    async def main() -> list[Any]:
        return list(await asyncio.gather(*(loads.secrets(entry) for _ in range(askers))))

    return asyncio.run(main())


def test_many_deliveries_asking_at_once_load_the_keys_once() -> None:
    keys = SigningKeys.generate()
    store = Store(keys)
    got = load(store, 50)
    assert got == [[keys.current]] * 50 and store.loads == 1


def test_a_subscription_gone_from_the_store_has_no_secrets() -> None:
    store = Store(None)
    assert load(store, 3) == [None, None, None] and store.loads == 1
