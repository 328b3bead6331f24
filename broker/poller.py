"""The retry poller: claims due jobs from the durable schedule and hands them to their lanes.

Each claimed job is handled on its own: a malformed one (not JSON, not a CloudEvent) is taken
out of the schedule and kept aside with the reason (``retry-rejected`` in Redis, the
``errors_total{stage="retry-job"}`` metric); a Redis error while handling one leaves it
claimed, so it falls due again after ``retry_claim_seconds``. Neither stops the poller; a bug
that does is the supervisor's to restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http

from broker.dispatcher import Dispatcher
from broker.index import SubscriptionIndex
from broker.lanes import Job
from broker.metrics import BrokerMetrics
from broker.retries import RetryJob, RetrySchedule
from broker.settings import BrokerSettings
from delivery.request import Payload

log = logging.getLogger(__name__)

CLAIM_BATCH = 500
STRUCTURED = "application/cloudevents+json"


class RetryPoller:
    def __init__(
        self,
        settings: BrokerSettings,
        schedule: RetrySchedule,
        index: SubscriptionIndex,
        dispatcher: Dispatcher,
        metrics: BrokerMetrics,
        to_lease: Callable[[BaseCloudEvent], str],
    ) -> None:
        self.settings = settings
        self.schedule = schedule
        self.index = index
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.to_lease = to_lease
        self._postponed: list[str] = []  # claimed jobs to move on, unchanged, after a batch

    async def run(self) -> None:
        while True:
            try:
                claimed = await self.schedule.claim(
                    time.time(), self.settings.retry_claim_seconds, CLAIM_BATCH
                )
            except Exception as exc:  # Redis down: jobs wait in Redis, nothing is lost
                log.warning("retry schedule unavailable: %s: %s", type(exc).__name__, exc)
                await asyncio.sleep(1.0)
                continue
            for key, raw in claimed:
                try:
                    await self.handle(key, raw)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # left claimed: due again after the claim expires
                    self.metrics.errors.labels("retry-job").inc()
                    log.warning("retry %s not handled: %s: %s", key, type(exc).__name__, exc)
            await self._postpone()
            drained = await self._drain_ordered()
            if len(claimed) < CLAIM_BATCH and drained < CLAIM_BATCH:
                await asyncio.sleep(self.settings.retry_poll_interval)

    async def _drain_ordered(self) -> int:
        """Hand the due heads of parked ordered leases to their lanes (one per lease)."""
        parking = self.dispatcher.parking
        if parking is None:
            return 0
        try:
            members = await parking.queues.claim(
                time.time(), self.settings.retry_claim_seconds, CLAIM_BATCH
            )
        except Exception as exc:  # Redis down: the queues wait in Redis
            log.warning("ordered queues unavailable: %s: %s", type(exc).__name__, exc)
            return 0
        for member in members:
            try:
                await self.handle_ordered(member)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # left claimed: due again after the claim expires
                self.metrics.errors.labels("retry-job").inc()
                log.warning("ordered lease %s not handled: %s: %s",
                            member, type(exc).__name__, exc)  # fmt: skip
        return len(members)

    async def handle_ordered(self, member: str) -> None:
        parking = self.dispatcher.parking
        assert parking is not None
        queues = parking.queues
        if member in parking.held:
            return  # its head is waiting or running here
        raw = await queues.head(member)
        if raw is None:
            await queues.release(member, time.time())  # emptied meanwhile: unparks it
            parking.parked.discard(member)
            return
        try:
            retry = RetryJob.from_json(raw)
            event = http.from_structured_event(
                http.HTTPMessage({"content-type": STRUCTURED}, retry.event)
            )
            job_payload = Payload(event)
        except Exception as exc:  # set aside, and the lease goes on with the next
            self.metrics.errors.labels("retry-job").inc()
            log.warning("malformed ordered job of %s dropped: %s: %s",
                        member, type(exc).__name__, exc)  # fmt: skip
            await queues.advance(member, time.time())
            return
        entry = self.index.get(retry.subscription_id)
        if entry is None or entry.sub.status != "ACTIVE":  # dropped, like its retries
            await queues.drop(member)
            parking.parked.discard(member)
            return
        lane = self.dispatcher.lane(entry)
        if lane.stuck(time.monotonic(), self.settings.stuck_after) or not lane.offer(
            Job(entry.id, job_payload, self.to_lease(event), retry.number, ordered_key=member)
        ):  # the head waits in Redis, not in a lane that does not move
            later = time.time() + max(self.settings.overflow_delay, self.settings.stuck_after)
            await queues.release(member, later)
            return
        parking.parked.add(member)
        parking.held.add(member)

    async def _postpone(self) -> None:
        """The claimed jobs whose subscriber cannot take them now, in one write, unchanged."""
        keys, self._postponed = self._postponed, []
        if not keys:
            return
        due = time.time() + max(self.settings.overflow_delay, self.settings.stuck_after)
        try:
            await self.schedule.postpone(keys, due)
        except Exception as exc:  # left claimed: due again after the claim expires
            log.warning("%d retries not postponed: %s: %s", len(keys), type(exc).__name__, exc)

    def _stuck(self, key: str) -> bool:
        """Whether the job's subscriber is stuck, known from its key alone (``sub|event``):
        a hung sink's jobs, claimed again and again, are neither parsed nor rewritten."""
        entry = self.index.get(key.partition("|")[0])
        if entry is None or entry.sub.status != "ACTIVE":
            return False  # handled below (dropped), like any other
        return self.dispatcher.lane(entry).stuck(time.monotonic(), self.settings.stuck_after)

    async def handle(self, key: str, raw: bytes) -> None:
        if key in self.dispatcher.held:
            return  # already waiting or running here (its claim is being kept)
        if self._stuck(key):
            self._postponed.append(key)
            return
        try:
            retry = RetryJob.from_json(raw)
            message = http.HTTPMessage(
                {"content-type": "application/cloudevents+json"}, retry.event
            )
            event = http.from_structured_event(message)
            job_payload = Payload(event)
        except Exception as exc:  # written by a broken or hostile writer: set aside
            self.metrics.errors.labels("retry-job").inc()
            reason = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("malformed retry job %s set aside: %s", key, reason)
            await self.schedule.reject(key, raw, reason)
            return
        entry = self.index.get(retry.subscription_id)
        if entry is None or entry.sub.status != "ACTIVE":
            await self.schedule.done(key)
            return
        job = Job(entry.id, job_payload, self.to_lease(event), retry.number, retry_key=key)
        lane = self.dispatcher.lane(entry)
        self.dispatcher.held.add(key)
        # A stuck subscriber's jobs wait in Redis, not in its queue, until it moves.
        if lane.stuck(time.monotonic(), self.settings.stuck_after) or not lane.offer(
            job, force=lane.ordered
        ):
            self.dispatcher.held.discard(key)
            self._postponed.append(key)
