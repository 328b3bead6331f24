"""A test, replay or snapshot request as the broker's request thread carries it out: the
subscription is refreshed from the store, its events go to the broker's fan-out for that one
subscription, and a request for a subscription that is gone does nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from cloudevents.core.base import BaseCloudEvent

from blazar_events.settings import KafkaSettings
from blazar_events.store import SubscriptionStore
from broker.follower import Change
from broker.index import Entry, from_subscription_entry
from broker.replay import TEST_TYPE
from broker.requests import REPLAY_WINDOW, Requests
from tests.delivery.conftest import to_subscription


class Loop:
    """The broker's event loop in a thread; records what the requests hand to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.changes: list[list[Change]] = []
        self.fanned: list[tuple[BaseCloudEvent, list[Entry]]] = []
        self.spills = 0
        self.done = threading.Event()

    def requests(self, store: SubscriptionStore, stopping: bool = False) -> Requests:
        return Requests(
            store,
            KafkaSettings(),
            self.loop,
            on_changes=self.changes.append,
            fan_out=self.fan_out,
            match_failed=lambda *args: None,
            pending_spills=lambda: self.spills,
            stopping=lambda: stopping,
        )

    def fan_out(self, event: BaseCloudEvent, entries: list[Entry]) -> None:
        self.fanned.append((event, entries))
        self.done.set()

    def settle(self) -> None:
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.loop).result(10)


@pytest.fixture
def loop() -> Iterator[Loop]:
    running = Loop()
    running.thread.start()
    yield running
    running.loop.call_soon_threadsafe(running.loop.stop)
    running.thread.join(10)


def test_a_test_request_sends_one_test_event_to_that_subscription_only(
    store: SubscriptionStore, loop: Loop
) -> None:
    sub_id, _ = to_subscription(store, "http://127.0.0.1:9/hook")
    to_subscription(store, "http://127.0.0.1:9/other")
    loop.requests(store).handle({"kind": "test", "subscription_id": sub_id})
    assert loop.done.wait(10)
    loop.settle()
    [(event, entries)] = loop.fanned
    assert [entry.id for entry in entries] == [sub_id]
    assert event.get_type() == TEST_TYPE
    assert [change[0][0] for change in loop.changes] == [sub_id]  # refreshed from the store


@pytest.mark.parametrize("kind", ["test", "replay", "snapshot"])
def test_a_request_for_a_subscription_that_is_gone_does_nothing(
    store: SubscriptionStore, loop: Loop, kind: str
) -> None:
    fields: dict[str, Any] = {"kind": kind, "subscription_id": "gone", "since": "2026-01-01"}
    loop.requests(store).handle(fields)
    loop.settle()
    assert loop.fanned == [] and loop.changes == []


def test_a_replay_waits_while_the_schedule_holds_a_full_window_and_gives_up_on_stop(
    store: SubscriptionStore, loop: Loop
) -> None:
    sub_id, _ = to_subscription(store, "http://127.0.0.1:9/hook")
    entry = from_subscription_entry(store.get(sub_id))
    loop.spills = REPLAY_WINDOW  # the broker has no room: the event is taken, not confirmed
    stopping = threading.Event()
    requests = Requests(
        store,
        KafkaSettings(),
        loop.loop,
        on_changes=loop.changes.append,
        fan_out=loop.fan_out,
        match_failed=lambda *args: None,
        pending_spills=lambda: loop.spills,
        stopping=stopping.is_set,
    )
    result: list[bool] = []
    event: Any = object()
    worker = threading.Thread(target=lambda: result.append(requests._deliver(event, entry)))
    worker.start()
    assert loop.done.wait(10)  # handed to the fan-out at once
    worker.join(1.5)
    assert worker.is_alive()  # but the replay does not read on while the window is full
    stopping.set()
    worker.join(10)
    assert result == [False]
