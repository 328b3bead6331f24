"""Receipts of the function service (functions/receipts.py): bounded per subscription, and
never shared by two different deliveries."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http
from hypothesis import given
from hypothesis import strategies as st

from blazar_events.store import SubscriptionStore
from delivery.settings import DeliverySettings
from functions.receipts import Receipts, to_identity
from functions.service import FunctionService
from stack.sink import Sink
from tests.functions.test_service import KEY, path_of, subscribe, with_record


def test_receipts_are_bounded_by_their_window_and_size(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, _ = subscribe(store, sink.url("hook"))
    settings = DeliverySettings.load(allowed_networks=["127.0.0.0/8"])
    receipts = Receipts(store.keys, window=120, size=3)

    async def main() -> None:
        service = FunctionService(settings, store, KEY, receipts=receipts)
        async with TestClient(TestServer(service.app())) as client:
            for offset in range(5):
                sent = http.to_binary_event(with_record(event, offset))
                async with client.post(path_of(store, sub_id), data=sent.body,
                                       headers=sent.headers) as resp:  # fmt: skip
                    assert resp.status == 202

    asyncio.run(main())
    key = store.keys.receipts(sub_id)
    assert store.client.zcard(key) == 3  # the newest three
    assert 0 < int(store.client.ttl(key)) <= 120  # type: ignore[arg-type]
    assert len(sink.requests("hook")) == 5


names = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@given(st.tuples(names, names, names), st.tuples(names, names, names))
def test_two_different_deliveries_never_share_a_receipt(
    one: tuple[str, str, str], other: tuple[str, str, str]
) -> None:
    # A shared receipt would suppress an event never sent: the encoding must be injective,
    # whatever a bus producer puts in the source and id.
    def attributes(values: tuple[str, str, str]) -> dict[str, str]:
        return dict(zip(("source", "id", "knativekafkaoffset"), values, strict=True))

    same = to_identity(attributes(one)) == to_identity(attributes(other))
    assert same == (one == other)
    assert to_identity({"source": "s", "id": "i"}) != to_identity(
        {"source": "s", "id": "i", "knativekafkaoffset": ""}
    )
