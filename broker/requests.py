"""Test, replay and snapshot requests of one subscription, run in the broker's request thread.

The API queues a request in Redis (``broker/follower.py`` follows the queue). The events a
request produces go through the broker's own fan-out on the event loop, one subscription
only, and a replay reads the topic no faster than the broker takes them: a range of millions
of events is never held in memory at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from datetime import datetime

from cloudevents.core.base import BaseCloudEvent

from blazar_events.errors import BlazarEventsError
from blazar_events.matching import evaluate, to_attributes
from blazar_events.settings import EventSettings, KafkaSettings
from blazar_events.store import SubscriptionStore
from broker import replay, snapshot
from broker.follower import Change
from broker.index import Entry, from_subscription_entry

log = logging.getLogger(__name__)

REPLAY_WINDOW = 32  # spills to the schedule pending before a replay reads on


class Requests:
    """Carries out one request at a time; the broker's loop does the delivering."""

    def __init__(
        self,
        store: SubscriptionStore,
        kafka: KafkaSettings,
        loop: asyncio.AbstractEventLoop,
        *,
        on_changes: Callable[[list[Change]], None],
        fan_out: Callable[[BaseCloudEvent, list[Entry]], None],
        match_failed: Callable[[BaseCloudEvent, Entry, Exception], None],
        pending_spills: Callable[[], int],
        stopping: Callable[[], bool],
    ) -> None:
        self.store, self.kafka, self.loop = store, kafka, loop
        self.on_changes, self.fan_out, self.match_failed = on_changes, fan_out, match_failed
        self.pending_spills, self.stopping = pending_spills, stopping

    def handle(self, fields: dict[str, str]) -> None:
        sub_id = fields.get("subscription_id", "")
        try:
            # Straight from the store: the request may overtake the change feed.
            entry = from_subscription_entry(self.store.get(sub_id))
        except BlazarEventsError as exc:
            log.warning("%s request for subscription %s: %s", fields.get("kind"), sub_id,
                        exc.message)  # fmt: skip
            return
        change: list[Change] = [(sub_id, entry.sub, None)]
        self.loop.call_soon_threadsafe(self.on_changes, change)
        kind = fields.get("kind")
        if kind == "test":
            test = replay.to_test_event(entry.sub, EventSettings.load().source_prefix)
            self.loop.call_soon_threadsafe(self.fan_out, test, [entry])
        elif kind == "snapshot":
            count = snapshot.send(
                self.kafka,
                entry.sub,
                EventSettings.load().source_prefix,
                lambda event: self._deliver(event, entry),
                lambda event, error: self._failed(event, entry, error),
                stop=self.stopping,
            )
            log.info("sent %d lease state(s) to subscription %s", count, sub_id)
        elif kind == "replay":
            self._replay(entry, fields)

    def _replay(self, entry: Entry, fields: dict[str, str]) -> None:
        since = datetime.fromisoformat(fields["since"])
        until = datetime.fromisoformat(fields["until"]) if fields.get("until") else None
        count = 0
        for event in replay.from_kafka(self.kafka, since, until, stop=self.stopping):
            verdict = evaluate(entry.match, to_attributes(event))
            if verdict.error is not None:
                self._failed(event, entry, verdict.error)
            if verdict.matched and self._deliver(event, entry):
                count += 1
        log.info("replayed %d event(s) to subscription %s", count, entry.id)

    def _failed(self, event: BaseCloudEvent, entry: Entry, error: Exception) -> None:
        self.loop.call_soon_threadsafe(self.match_failed, event, entry, error)

    def _deliver(self, event: BaseCloudEvent, entry: Entry) -> bool:
        """Hand one event to the loop and wait until the broker has room for the next: its
        lane took it, or fewer than ``REPLAY_WINDOW`` spills to the schedule are pending."""
        taken = asyncio.run_coroutine_threadsafe(self._taken(event, entry), self.loop)
        while not self.stopping():
            try:
                taken.result(timeout=1.0)
                return True
            except concurrent.futures.TimeoutError:
                continue
        taken.cancel()
        return False

    async def _taken(self, event: BaseCloudEvent, entry: Entry) -> None:
        self.fan_out(event, [entry])
        while self.pending_spills() >= REPLAY_WINDOW:
            await asyncio.sleep(0.01)
