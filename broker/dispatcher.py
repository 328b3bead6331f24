"""From a matched event to settled deliveries: lanes, outcomes, retries and dead letters.

A job is *settled* when it is delivered, durably in the retry schedule or its ordered lease's
queue (``parking.py``), or dead-lettered;
only then does its Kafka record move towards commit. A step that needs Redis or Kafka
(scheduling a retry, dead-lettering) is retried until it succeeds, so an outage of either
delays settling (and the commit) but loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

import redis.exceptions
from confluent_kafka import KafkaException

from blazar_events.errors import ServiceUnavailable
from blazar_events.store import SubscriptionStore
from broker.deadletters import DeadLetters
from broker.deliverylog import DeliveryLog
from broker.durable import Durably
from broker.incidents import Incidents
from broker.index import Entry, SubscriptionIndex, active_secrets
from broker.keyloads import KeyLoads
from broker.lanes import Depth, Job, Lane
from broker.metrics import BrokerMetrics
from broker.observer import Observer
from broker.offsets import Settle
from broker.ordered import OrderedQueues
from broker.parking import Parking
from broker.retries import RetrySchedule
from broker.settings import BrokerSettings
from broker.spills import Spills
from delivery.client import Sender
from delivery.outcomes import Delivered, Gone, Outcome, PermanentFailure, Retry

log = logging.getLogger(__name__)

# What an unreachable Redis or Kafka raises: such a step is retried until it succeeds. Any
# other exception is a bug or a hostile input, and retrying it would loop forever.
TRANSIENT = (redis.exceptions.RedisError, OSError, KafkaException, TimeoutError, ServiceUnavailable)


class Dispatcher:
    def __init__(
        self,
        settings: BrokerSettings,
        index: SubscriptionIndex,
        store: SubscriptionStore,
        sender: Sender,
        schedule: RetrySchedule,
        dead_letters: DeadLetters,
        delivery_log: DeliveryLog,
        metrics: BrokerMetrics,
        incidents: Incidents,
        ordered: OrderedQueues | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.store = store
        self.sender = sender
        self.schedule = schedule
        self.dead_letters = dead_letters
        self.delivery_log = delivery_log
        self.metrics = metrics
        self.incidents = incidents
        self.depth = Depth()
        self.stopping = False
        self._durably = Durably(TRANSIENT, lambda: self.stopping)
        # Retry jobs claimed by this broker, waiting in a lane or running: their claims are
        # kept (keep_claims) so that no broker claims them twice.
        self.held: set[str] = set()
        self.parking: Parking | None = None
        if ordered is not None:
            self.park_in(ordered)
        self.lanes: dict[str, Lane] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.keys = KeyLoads(store, self._durably)
        self.spills = Spills(settings, schedule, self._durably, self._release, self._spawn)
        self.observer = Observer(metrics, delivery_log)

    # --- entry points -------------------------------------------------------------------

    def park_in(self, queues: OrderedQueues) -> Parking:
        """Ordered subscriptions park in these durable queues (else they spill like others)."""
        self.parking = Parking(
            queues, self.settings.retry_claim_seconds, self._durably, self._release,
            self._spawn,
        )  # fmt: skip
        return self.parking

    def submit(self, entry: Entry, job: Job) -> None:
        """Queue a job on its subscriber's lane; a full lane spills it to the retry schedule
        (an ordered one parks the lease in its durable queue, which keeps the order)."""
        lane = self.lane(entry)
        if lane.ordered and self.parking is not None and job.ordered_key is None:
            self.parking.offer(lane, job)
        elif not lane.offer(job, force=lane.ordered):
            self._spawn(self.spills.one(job))

    def lane(self, entry: Entry) -> Lane:
        lane = self.lanes.get(entry.id)
        ordered = entry.sub.delivery.ordered
        if lane is None or lane.ordered != ordered:
            if lane is not None and not lane.idle:
                return lane  # switch once the old lane drains; never reorder in flight
            lane = Lane(
                self.settings.queue_size, self.settings.concurrency, self.run, self.depth, ordered
            )
            self.lanes[entry.id] = lane
        return lane

    @property
    def pending_spills(self) -> int:
        """Background writes (spills, parkings) not yet done: events held in memory."""
        parked = self.parking.pending if self.parking is not None else 0
        return len(self._background) + parked

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Future[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:  # a bug: seen
            self.metrics.errors.labels("background").inc()
            log.error("a background step of the dispatcher failed", exc_info=error)

    async def drain(self, timeout: float) -> bool:
        """Wait until every lane is idle (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(lane.idle for lane in self.lanes.values()) and not self._background:
                return True
            await asyncio.sleep(0.05)
        return False

    def spill_stuck(self, after: float) -> int:
        """Park the waiting jobs of lanes that made no progress for ``after`` seconds.

        A hung sink holds its workers until they time out; its waiting jobs would hold their
        Kafka records (and, at ``max_pending_records``, everyone's consumption). In the
        retry schedule they are settled and wait there instead.
        """
        return self.spills.stuck(self.lanes, self.parking, after)

    async def cancel(self) -> None:
        """Abandon what is still in flight (after the grace): it is redelivered later."""
        tasks = [t for lane in self.lanes.values() for t in lane.tasks] + list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def forget_idle_lanes(self) -> None:
        for sub_id in [k for k, lane in self.lanes.items() if lane.idle]:
            del self.lanes[sub_id]

    # --- one job --------------------------------------------------------------------------

    async def run(self, job: Job) -> None:
        """Deliver one job to a settled end; whatever raises is that job's alone."""
        settle = job.settled
        if isinstance(settle, Settle):
            if not settle.begin():  # its partition moved to another process, which delivers it
                job.settled = None
                return
            try:
                await self._run_contained(job)
            finally:
                settle.end()
        else:
            await self._run_contained(job)

    async def _run_contained(self, job: Job) -> None:
        try:
            await self._run(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._contain(job, exc)

    async def _run(self, job: Job) -> None:
        entry = self.index.get(job.subscription_id)
        if entry is None or entry.sub.status != "ACTIVE":
            log.info("subscription %s is gone or disabled; event %s dropped",
                     job.subscription_id, job.payload.event_id)  # fmt: skip
            await self._settle(job)
            return
        secrets = (
            active_secrets(entry) if entry.keys is not None else await self.keys.secrets(entry)
        )
        if secrets is None:
            await self._settle(job)
            return
        attempt = await self.sender.attempt(entry.target, job.payload, secrets, job.number)
        self.observer.attempt(entry, job, attempt)
        outcome = attempt.outcome
        lane = self.lanes.get(entry.id)
        if lane is not None:
            if isinstance(outcome, Retry) and outcome.timed_out:
                lane.throttle()
            elif outcome.status is not None:
                lane.answered()
        if isinstance(outcome, Delivered):
            if entry.sub.status_reason:
                self.incidents.delivered(entry)
            await self._settle(job)
            return
        if isinstance(outcome, Retry) and job.number <= entry.sub.delivery.retry:
            await self._retry_later(entry, job, self.backoff(entry, job.number, outcome.after))
            return
        if isinstance(outcome, Gone):
            await self.incidents.gone(entry, self.index)
        await self._give_up(entry, job, outcome, secrets)
        await self._settle(job)

    async def _retry_later(self, entry: Entry, job: Job, delay: float) -> None:
        """Attempt ``job.number + 1`` after ``delay``: in the retry schedule, or for an
        ordered subscription at the head of its lease's durable queue (never sleeping in
        its lane, which would hold the lease's later records and their offsets)."""
        if self.parking is not None and (job.ordered_key or entry.sub.delivery.ordered):
            await self.parking.retry(self.lanes.get(entry.id), job, delay)
            await self._settle(job, rescheduled=True)
            return
        await self.spills.reschedule(job, job.number + 1, delay)
        await self._settle(job, rescheduled=True)

    def backoff(self, entry: Entry, number: int, after: float | None = None) -> float:
        """Seconds before attempt ``number + 1``: the sink's Retry-After, else the
        subscription's backoff, never more than ``max_backoff``."""
        wanted = after if after is not None else entry.sub.delivery.backoff_for(number)
        return max(0.0, min(wanted, self.settings.max_backoff))

    async def _contain(self, job: Job, error: Exception) -> None:
        """An exception escaped one job: record it, then settle the job like a failed attempt
        (retried while it has attempts left, then given up), so its record is not held."""
        entry = self.index.get(job.subscription_id)
        event_type = job.payload.event.get_type()
        if entry is None:
            self.metrics.errors.labels("deliver").inc()
            log.error("delivery to %s failed", job.subscription_id, exc_info=error)
        else:
            self.incidents.record(
                entry, "deliver", error, job.payload.event_id, event_type, job.number
            )
        try:
            if entry is not None and job.number <= entry.sub.delivery.retry:
                await self._retry_later(entry, job, self.backoff(entry, job.number))
                return
            if entry is not None:
                failure = PermanentFailure(f"internal error: {type(error).__name__}: {error}")
                await self._give_up(entry, job, failure, None)
            await self._settle(job)
        except asyncio.CancelledError:
            raise
        except Exception:  # even that failed: give the record back rather than hold it
            log.exception("job of %s settled without an outcome", job.subscription_id)
            self._release(job)

    async def _give_up(
        self, entry: Entry, job: Job, outcome: Outcome, secrets: list[str] | None
    ) -> None:
        """Dead-letter: the sink (once) if the subscription has one, then the topic (until
        Kafka takes it; a retry of that step does not post to the sink again)."""
        letter = self.dead_letters.letter(entry.target, job.payload, outcome)
        sink = entry.sub.delivery.deadLetterSink
        if sink and secrets is not None:
            await self.dead_letters.post(entry.target, letter, secrets, sink)
        await self._durably(lambda: self.dead_letters.publish(letter))
        self.metrics.dead_letters.inc()

    async def _settle(self, job: Job, rescheduled: bool = False) -> None:
        if job.retry_key is not None and not rescheduled:
            key = job.retry_key
            await self._durably(lambda: self.schedule.done(key))
        parking = self.parking  # nothing to do there unless the job is of a parked lease
        if parking is not None and not rescheduled and (job.ordered_key or parking.held):
            await parking.go_on(job)
        self._release(job)

    def _release(self, job: Job) -> None:
        """The job reached its end here: its claim is no longer kept, its record moves on."""
        if job.retry_key is not None:
            self.held.discard(job.retry_key)
        settled, job.settled = job.settled, None  # once, whatever path got here
        if settled is not None:
            settled()

    async def keep_claims(self) -> None:
        """Keep the claims of held retry jobs alive, so a slow lane is not claimed twice."""
        every = max(0.5, self.settings.retry_claim_seconds / 3)
        while True:
            await asyncio.sleep(every)
            until = time.time() + self.settings.retry_claim_seconds
            if self.held:
                await self.schedule.extend(sorted(self.held), until)
            if self.parking is not None:
                await self.parking.keep_claims(until)
