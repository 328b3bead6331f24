"""The standalone broker assembled: Kafka records in, matched, handed to subscriber lanes;
the retry schedule polled; subscription changes and replay/test requests applied.

Everything that touches deliveries runs on one asyncio loop; blocking clients (the Kafka
consumer, redis-py for the store) live in threads that hand their results to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import redis.asyncio as aioredis
from cloudevents.core.base import BaseCloudEvent

from blazar_events.errors import NotificationRejected
from blazar_events.matching import to_attributes
from blazar_events.records import from_record
from blazar_events.settings import KafkaSettings
from blazar_events.store import SubscriptionStore
from broker.consumer import KafkaSource
from broker.deadletters import DeadLetters, KafkaDeadLetterProducer, Producer
from broker.deliverylog import DeliveryLog
from broker.dispatcher import Dispatcher
from broker.follower import Change, ChangeFollower, RequestFollower, Snapshot
from broker.incidents import Incidents
from broker.index import Entry, SubscriptionIndex, from_subscription_entry
from broker.lanes import Job
from broker.ledger import Ledger, with_short_timeouts
from broker.metrics import BrokerMetrics
from broker.offsets import OffsetTracker, Slot
from broker.ordered import OrderedQueues
from broker.poller import RetryPoller
from broker.requests import Requests
from broker.retries import RetrySchedule
from broker.settings import BrokerSettings
from broker.supervisor import Supervisor, in_thread
from delivery.client import Sender
from delivery.request import Payload
from delivery.settings import DeliverySettings

log = logging.getLogger(__name__)

T = TypeVar("T")
CONSUMER = "kafka-consumer"
THREADS = (CONSUMER, "subscription-changes", "replay-requests")


def to_loop(loop: asyncio.AbstractEventLoop, call: Callable[[T], None]) -> Callable[[T], None]:
    """``call`` made callable from another thread: it runs on ``loop``."""

    def threadsafe(arg: T) -> None:
        loop.call_soon_threadsafe(call, arg)

    return threadsafe


def to_lease(event: BaseCloudEvent) -> str:
    key = event.get_extension("partitionkey") or event.get_subject() or event.get_id()
    return str(key)


class Broker:
    def __init__(
        self,
        settings: BrokerSettings,
        delivery: DeliverySettings,
        kafka: KafkaSettings,
        store: SubscriptionStore,
        redis_async: aioredis.Redis,
        producer: Producer | None = None,
    ) -> None:
        self.settings = settings
        self.delivery = delivery
        self.kafka = kafka
        self.store = store
        self.redis_async = redis_async
        self.producer = producer
        self.metrics = BrokerMetrics()
        self.index = SubscriptionIndex()
        self.tracker = OffsetTracker()
        self.schedule = RetrySchedule(redis_async, store.prefix)
        self.supervisor = Supervisor(self.metrics)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self.sender = Sender(self.delivery)
        if self.producer is None:
            self.producer = await asyncio.to_thread(KafkaDeadLetterProducer, self.kafka)
        delivery_log = DeliveryLog(self.store, self.settings.log_successes_per_second)
        self.incidents = Incidents(self.store, delivery_log, self.metrics)
        self.dispatcher = Dispatcher(
            self.settings,
            self.index,
            self.store,
            self.sender,
            self.schedule,
            DeadLetters(self.producer, self.kafka.dlq_topic, self.sender),
            delivery_log,
            self.metrics,
            self.incidents,
            OrderedQueues(self.redis_async, self.store.prefix),
        )
        assert self.dispatcher.parking is not None  # ordered leases always park here
        await self.dispatcher.parking.load()
        self.changes = ChangeFollower(
            self.store,
            to_loop(loop, self._on_snapshot),
            to_loop(loop, self._on_changes),
        )
        supervise = self.supervisor.start
        supervise("subscription-changes", lambda: in_thread("changes", self.changes.run))
        # Route nothing before the subscriptions are known: an event would match no one.
        while not self.changes.ready.is_set():
            await asyncio.sleep(0.05)
        await asyncio.sleep(0)  # let the snapshot callback run
        handler = Requests(
            self.store,
            self.kafka,
            loop,
            on_changes=self._on_changes,
            fan_out=self._fan_out,
            match_failed=self._match_failed,
            pending_spills=lambda: self.dispatcher.pending_spills,
            stopping=lambda: self._stopping,
        )
        self.requests = RequestFollower(self.store, handler.handle)
        supervise("replay-requests", lambda: in_thread("requests", self.requests.run))
        self.ledger = Ledger(
            with_short_timeouts(self.store.client),
            self.store.prefix,
            self.settings.group_id,
            self.settings.progress_interval,
        )
        self.source = KafkaSource(
            self.kafka,
            self.settings,
            self.tracker,
            to_loop(loop, self._on_records),
            ledger=self.ledger,
        )
        supervise(CONSUMER, lambda: in_thread(CONSUMER, self.source.consume))
        self.poller = RetryPoller(
            self.settings, self.schedule, self.index, self.dispatcher, self.metrics, to_lease
        )
        supervise("retry-poller", self.poller.run)
        supervise("retry-claims", self.dispatcher.keep_claims)
        supervise("delivery-log", delivery_log.run)
        supervise("metrics", self._measure)
        supervise("unstick", self._unstick)
        log.info("broker started: %d subscription(s), topic %s", len(self.index), self.kafka.topic)

    async def stop(self) -> None:
        """Stop taking work, let in-flight deliveries finish (up to the grace), commit, close."""
        self._stopping = True
        self.source.pause()
        self.requests.stop()
        try:
            if not await self.dispatcher.drain(self.settings.shutdown_grace):
                log.warning("shutdown grace over: unsettled deliveries are redelivered later")
            self.dispatcher.stopping = True
            await self.dispatcher.cancel()
            await asyncio.to_thread(self.source.close)
            self.changes.stop()
            await self.supervisor.wait_ended(list(THREADS), 5)
            await self.supervisor.stop()
            await self.dispatcher.delivery_log.flush()
        finally:
            await self.sender.close()
            if isinstance(self.producer, KafkaDeadLetterProducer):
                await asyncio.to_thread(self.producer.close)

    def health(self) -> tuple[bool, dict[str, Any]]:
        failing = self.supervisor.failing()
        source_ok = CONSUMER not in failing and time.monotonic() - self.source.alive_at < 30
        details = {
            "kafka": "ok" if source_ok else failing.get(CONSUMER, "consumer stalled"),
            "redis": "ok" if self.changes.healthy else "unavailable",
            "tasks": {name: failing.get(name, "ok") for name in self.supervisor.states},
            "subscriptions": len(self.index),
            "records_in_progress": self.tracker.in_progress,
            "consumer_rebuilds": self.source.rebuilt,
        }
        return source_ok and self.changes.healthy and not failing, details

    # --- subscriptions ----------------------------------------------------------------------

    def _on_snapshot(self, subs: Snapshot) -> None:
        # No signing keys carried over: a reload follows an outage, during which a rotation
        # may have been missed (rotating does not change the subscription's version), and
        # keys kept from before would sign with a rotated-out secret for good. Each
        # subscription loads its keys again on its next delivery.
        self.index.replace_all(from_subscription_entry(s) for s in subs)

    def _on_changes(self, changes: list[Change]) -> None:
        for sub_id, sub, keys in changes:
            if sub is None:
                self.index.remove(sub_id)
                self.incidents.forget(sub_id)
            else:
                old = self.index.get(sub_id)
                self.index.put(from_subscription_entry(sub, keys))
                self.incidents.changed(old.sub if old is not None else None, sub)

    # --- records ----------------------------------------------------------------------------

    def _on_records(self, records: list[Any]) -> None:
        try:
            if self._stopping:
                return  # not started, so not committed: the member that takes over reads them
            for record in records:
                self.metrics.records.inc()
                try:
                    self._route(record)
                except Exception:  # a bug: this record's alone; tracked before any fan-out
                    self.metrics.errors.labels("record").inc()
                    log.exception("offset %d of partition %d not routed",
                                  record.offset, record.partition)  # fmt: skip
        finally:
            self.source.routed(len(records))  # off the back-pressure count, whatever happened

    def _route(self, record: Any) -> None:
        # What the partition's previous owner settled before it was killed is not sent again.
        where = record.topic, record.partition
        done = self.ledger.done(record.topic, record.partition, record.offset)
        if done is True:
            self.tracker.start(*where, record.offset, 0, generation=record.generation)
            return
        try:
            event = from_record(record.key, record.value, record.headers)
            attributes = to_attributes(event)
        except Exception as exc:  # NotificationRejected, or anything a producer could cause
            self.metrics.invalid_records.inc()
            reason = exc.message if isinstance(exc, NotificationRejected) else repr(exc)
            log.warning("offset %d of partition %d skipped: %s",
                        record.offset, record.partition, reason[:500])  # fmt: skip
            self.tracker.start(*where, record.offset, 0, generation=record.generation)
            return
        entries = self.index.match(attributes, partial(self._match_failed, event))
        if done:
            entries = [entry for entry in entries if entry.id not in done]
        slot = self.tracker.start(
            *where, record.offset, len(entries), done or (), record.generation
        )
        if slot is not None:
            self._fan_out(event, entries, slot)

    def _match_failed(self, event: BaseCloudEvent, entry: Entry, error: Exception) -> None:
        self.incidents.record(entry, "match", error, event.get_id(), event.get_type())

    def _fan_out(
        self, event: BaseCloudEvent, entries: list[Entry], slot: Slot | None = None
    ) -> None:
        try:
            payload, lease = Payload(event), to_lease(event)
        except Exception as exc:  # the event cannot be sent to anyone: recorded on each
            for entry in entries:
                self.incidents.record(entry, "deliver", exc, event.get_id(), event.get_type())
                if slot is not None:
                    self.tracker.finish(slot, entry.id)
            return
        for entry in entries:
            settled = None if slot is None else self.tracker.settle(slot, entry.id)
            try:
                self.dispatcher.submit(entry, Job(entry.id, payload, lease, settled=settled))
            except Exception as exc:
                self.incidents.record(entry, "deliver", exc, event.get_id(), event.get_type())
                if settled is not None:
                    settled()

    async def _unstick(self) -> None:
        while True:
            await asyncio.sleep(min(0.25, self.settings.stuck_after / 2))
            # Only worth its Redis writes when held records approach the pause threshold.
            if self.tracker.in_progress < self.settings.max_pending_records // 2:
                continue
            spilled = self.dispatcher.spill_stuck(self.settings.stuck_after)
            if spilled:
                log.info(
                    "%d waiting deliveries of stuck subscribers moved to the schedule", spilled
                )

    # --- metrics ------------------------------------------------------------------------------

    async def _measure(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.metrics.queue_depth.set(self.dispatcher.depth.value)
            self.metrics.in_progress.set(self.tracker.in_progress)
            self.metrics.lag.set(self.source.lag)
            self.metrics.consumer_rebuilds.set(self.source.rebuilt)
            self.metrics.subscriptions.set(len(self.index))
            with contextlib.suppress(Exception):  # Redis down: the gauge keeps its value
                self.metrics.retry_backlog.set(await self.schedule.backlog())
            self.dispatcher.forget_idle_lanes()
