"""The function as Knative calls it: a real HTTP service in front of a real sink and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient, TestServer
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http

from blazar_events.stack.sink import Sink
from blazar_events.store import SubscriptionStore
from blazar_events.triggers import to_trigger
from delivery.settings import DeliverySettings
from functions.service import FunctionService
from tests.delivery.conftest import to_subscription

T = TypeVar("T")


def call(store: SubscriptionStore, use: Callable[[TestClient], Awaitable[T]]) -> T:
    settings = DeliverySettings.load(allowed_networks=["127.0.0.0/8"])

    async def main() -> T:
        async with TestClient(TestServer(FunctionService(settings, store).app())) as client:
            return await use(client)

    return asyncio.run(main())


def post(
    store: SubscriptionStore, path: str, event: BaseCloudEvent, times: int = 1
) -> list[tuple[int, bytes, dict[str, str]]]:
    message = http.to_binary_event(event)

    async def use(client: TestClient) -> list[tuple[int, bytes, dict[str, str]]]:
        answers = []
        for _ in range(times):
            async with client.post(path, data=message.body, headers=message.headers) as resp:
                answers.append((resp.status, await resp.read(), dict(resp.headers)))
        return answers

    return call(store, use)


def test_the_path_a_rendered_trigger_calls_is_served(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, secret = to_subscription(store, sink.url("hook"))
    sink.verify_with("hook", secret)
    trigger = to_trigger(store.get(sub_id), function_url="http://function.example")
    path = urlsplit(trigger["spec"]["subscriber"]["uri"]).path

    [(status, _, _)] = post(store, path, event)

    assert status == 202
    assert [r.verified for r in sink.requests("hook")] == [True]


def test_a_delivery_answers_202_with_an_empty_body_and_is_logged(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, secret = to_subscription(store, sink.url("hook"))
    sink.verify_with("hook", secret)

    [(status, body, _)] = post(store, f"/subscriptions/{sub_id}", event)

    assert (status, body) == (202, b"")
    [received] = sink.requests("hook")
    assert received.verified is True
    [entry] = store.deliveries(sub_id)
    assert entry["outcome"] == "delivered" and entry["attempt"] == 1
    assert entry["event_id"] == event.get_id() and entry["status_code"] == 200


def test_a_failing_sink_makes_knative_retry_and_attempts_are_numbered(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, _ = to_subscription(store, sink.url("flaky"))
    sink.answer("flaky", 503, 429, headers={"Retry-After": "3"})

    answers = post(store, f"/subscriptions/{sub_id}", event, times=3)

    assert [a[0] for a in answers] == [503, 503, 202]
    assert answers[0][2]["Retry-After"] == "3"
    log = store.deliveries(sub_id)
    assert [(e["attempt"], e["outcome"]) for e in log] == [
        (3, "delivered"), (2, "retry"), (1, "retry"),
    ]  # fmt: skip


def test_410_disables_the_subscription(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, _ = to_subscription(store, sink.url("gone"))
    sink.answer("gone", 410)

    answers = post(store, f"/subscriptions/{sub_id}", event, times=2)

    assert [a[0] for a in answers] == [410, 410]
    assert store.get(sub_id).status == "DISABLED"
    assert len(sink.requests("gone")) == 1  # the disabled subscription is not called again


def test_a_4xx_from_the_sink_is_a_permanent_failure(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, _ = to_subscription(store, sink.url("bad"))
    sink.answer("bad", 400)
    [(status, body, _)] = post(store, f"/subscriptions/{sub_id}", event)
    assert status == 422 and b"the sink answered 400" in body


def test_unknown_subscription_and_non_cloudevent_requests_are_refused(
    store: SubscriptionStore, event: BaseCloudEvent
) -> None:
    [(status, _, _)] = post(store, "/subscriptions/no-such-subscription", event)
    assert status == 410

    async def use(client: TestClient) -> int:
        headers = {"content-type": "text/plain"}
        async with client.post("/subscriptions/x", data=b"hello", headers=headers) as r:
            return r.status

    assert call(store, use) == 400
