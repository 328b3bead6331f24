"""Knative mode: snapshot requests become addressed records on the events topic.

No broker runs in Knative mode, so the operator takes the snapshot requests the API and the
operator itself queue (``initial_state``, ``POST .../snapshot``) from the store's request
stream. For each, it reads the lease state topic once (:mod:`blazar_events.statetopic`) and
writes one ``lease.snapshot`` event per live lease the subscription sees to the events
topic, carrying ``subscriptionid``: every Trigger lets such an addressed event through only
to its own subscription, which then delivers it like any other event.

One request at a time, at most ``WINDOW`` records unconfirmed by Kafka; a request whose
subscription is gone, or whose records Kafka will not take, is logged and the stream moves
on. Requests of other kinds (replay, test) are the standalone broker's and left unclaimed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer

from blazar_events import kafkaproducer
from blazar_events.errors import BlazarEventsError
from blazar_events.leasestate import snapshot_matcher, to_snapshot
from blazar_events.matching import evaluate, to_attributes
from blazar_events.records import KafkaRecord, to_record
from blazar_events.settings import KafkaSettings
from blazar_events.statetopic import from_state_topic
from blazar_events.store import SubscriptionStore

log = logging.getLogger(__name__)

WINDOW = 256  # records sent and not yet confirmed, per request
ACK_SECONDS = 60.0  # how long one record may wait for Kafka before the request gives up
CLAIM_SECONDS = 7 * 24 * 3600  # as the broker's claims: a request runs once, whoever runs it


class SnapshotWriter:
    def __init__(
        self,
        store: SubscriptionStore,
        kafka: KafkaSettings,
        source_prefix: str,
        producer: Callable[[], Producer] | None = None,
    ) -> None:
        self.store = store
        self.kafka = kafka
        self.source_prefix = source_prefix
        self._new_producer = producer or self._kafka_producer
        self._producer: Producer | None = None
        self.healthy = True
        self.halt = threading.Event()

    def _kafka_producer(self) -> Producer:
        return kafkaproducer.new_producer(
            {
                **self.kafka.librdkafka_config(),
                "client.id": "blazar-events-snapshots",
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 20,
                "delivery.timeout.ms": int(ACK_SECONDS * 1000),
            }
        )

    def run(self) -> None:
        """Follow the request stream until :attr:`halt`; never raises (a daemon thread)."""
        while not self.halt.is_set():
            try:
                self.follow_once(block_ms=1000)
                self.healthy = True
            except Exception as exc:  # Redis or Kafka away, or a bug: back off, keep going
                self.healthy = False
                log.warning("snapshot requests unavailable: %s: %s", type(exc).__name__, exc)
                self._drop_producer()
                self.halt.wait(5.0)
        self._drop_producer()

    def follow_once(self, block_ms: int | None = None) -> int:
        """Execute the snapshot requests after the cursor; how many records were written."""
        raw: Any = self.store.client.get(self.store.requests_cursor_key)
        last = raw.decode() if isinstance(raw, bytes) else str(raw or "0-0")
        written = 0
        for stream_id, fields in self.store.requests(last, block_ms=block_ms):
            request_id = fields.get("request_id", stream_id)
            if fields.get("kind") == "snapshot" and not self._done(request_id):
                # Marked done only once Kafka has every record: a failure runs it again
                # (at least once; the event ids repeat, so a subscriber sees a repeat).
                written += self.execute(fields.get("subscription_id", ""))
                self._mark_done(request_id)
            # In Knative mode nothing else reads the stream: moving the cursor lets the
            # store trim what was taken (replays and tests have no taker here).
            self.store.client.set(self.store.requests_cursor_key, stream_id)
        return written

    def _key(self, request_id: str) -> str:
        return f"{self.store.prefix}:broker:request:{request_id}"  # the broker's claim key

    def _done(self, request_id: str) -> bool:
        return bool(self.store.client.exists(self._key(request_id)))

    def _mark_done(self, request_id: str) -> None:
        self.store.client.set(self._key(request_id), str(time.time()), nx=True, ex=CLAIM_SECONDS)

    def execute(self, sub_id: str) -> int:
        """Write the snapshot of ``sub_id`` to the events topic; how many records."""
        try:
            sub = self.store.get(sub_id)
        except BlazarEventsError as exc:
            log.warning("snapshot request for subscription %s: %s", sub_id, exc.message)
            return 0
        if self._producer is None:
            self._producer = self._new_producer()
        producer = self._producer
        match, pending, count = snapshot_matcher(sub), list[KafkaRecord](), 0
        for state in from_state_topic(self.kafka, stop=self.halt.is_set):
            try:
                event = to_snapshot(state, sub, self.source_prefix)
                if not evaluate(match, to_attributes(event)).matched:
                    continue
                record = to_record(event)
            except Exception as exc:  # one lease's state, never the request
                log.warning("snapshot skips a lease state: %s", exc)
                continue
            pending.append(record)
            count += 1
            if len(pending) >= WINDOW:
                self._confirm(producer, pending)
        self._confirm(producer, pending)
        log.info("wrote %d lease state(s) for subscription %s", count, sub_id)
        return count

    def _confirm(self, producer: Producer, pending: list[KafkaRecord]) -> None:
        # Raises when Kafka refused one or did not confirm in time: the loop logs it and
        # backs off, and the request runs again.
        kafkaproducer.produce_all(producer, self.kafka.topic, pending, ACK_SECONDS)
        pending.clear()

    def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                kafkaproducer.discard(producer, timeout=5)
            except Exception as exc:
                log.warning("closing the snapshot producer: %s", exc)
