"""The dispatcher's side of ordered subscriptions: when a lease parks, what goes to its
durable queue (``ordered.py``) and in which order, and when a parked lease goes on.

A lease parks when its delivery must be retried (the delivery heads the queue, the lease's
waiting deliveries follow), or when its lane is full or stuck (the waiting deliveries move,
behind a delivery still in flight here, which the queue then waits for: *held*). While
parked, every new delivery of the lease is appended to the queue and settled at once.

Appends are gathered: a parked lease takes every new event of it (hundreds a second from a
hostile subscriber), and what parks within ``APPEND_GATHER`` of the last write goes in the next
transaction, one round trip for all of it, in arrival order. Parked deliveries wait for their
lease anyway; only their records settle that much later (commits go every 0.2 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from broker.lanes import Job, Lane
from broker.ordered import OrderedQueues, to_member
from broker.retries import RetryJob

log = logging.getLogger(__name__)
T = TypeVar("T")
APPEND_BATCH = 500  # leases' appends written in one transaction
APPEND_GATHER = 0.05  # seconds between two append transactions, at least
Durably = Callable[[Callable[[], Awaitable[T]]], Awaitable[T]]


def to_retry(job: Job, number: int | None = None) -> RetryJob:
    return RetryJob(job.subscription_id, job.number if number is None else number,
                    job.payload.structured.body)  # fmt: skip


class Parking:
    def __init__(
        self,
        queues: OrderedQueues,
        claim_seconds: float,
        durably: Durably[Any],
        release: Callable[[Job], None],
        spawn: Callable[[Awaitable[None]], None],
    ) -> None:
        self.queues = queues
        self.claim_seconds = claim_seconds
        self._durably = durably
        self._release = release
        self._spawn = spawn
        self.parked: set[str] = set()  # leases whose deliveries wait in Redis
        # Leases whose claim this broker keeps: their head is delivered here, or they wait
        # behind a delivery in flight here.
        self.held: set[str] = set()
        self._lock: asyncio.Lock | None = None
        # Appends not yet written, in arrival order: (lease, its jobs).
        self._appends: list[tuple[str, list[Job]]] = []
        self._appending = False
        self._written_at = 0.0  # monotonic time the last append transaction began

    async def load(self) -> None:
        """Which ordered leases wait in Redis (at start): their new events queue behind them."""
        try:
            self.parked |= await self.queues.members()
        except Exception as exc:  # Redis down at start: the queues are found as they fall due
            log.warning("parked ordered leases not loaded: %s: %s", type(exc).__name__, exc)

    @property
    def pending(self) -> int:
        """Appends not yet written (each holds its jobs' Kafka records)."""
        return len(self._appends)

    def writer(self) -> asyncio.Lock:
        # One writer at a time keeps the pushes in arrival order, even across Redis retries.
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def offer(self, lane: Lane, job: Job) -> None:
        """A new delivery for an ordered lane: queued, or parked behind its lease's."""
        member = to_member(job.subscription_id, job.lease)
        if member in self.parked:  # earlier deliveries of the lease wait in Redis
            self.park(member, [job], held=False)
        elif not lane.offer(job):
            self.park(member, [*self.take(lane, job.lease), job], lane.busy(job.lease))

    def take(self, lane: Lane, lease: str) -> list[Job]:
        """The lease's waiting deliveries from Kafka, out of the lane. A head drained from
        the queue waiting there is dropped: it is still first in Redis, and its claim, no
        longer kept, falls due again."""
        jobs = lane.take_lease(lease)
        for drained in (j for j in jobs if j.ordered_key is not None):
            self.held.discard(drained.ordered_key or "")
        return [j for j in jobs if j.ordered_key is None]

    def spill(self, sub_id: str, lane: Lane) -> int:
        """A stuck ordered lane: every lease's waiting deliveries go to their queues."""
        moved = 0
        for lease in lane.waiting_leases():
            waiting = self.take(lane, lease)
            if waiting:
                moved += len(waiting)
                self.park(to_member(sub_id, lease), waiting, lane.busy(lease))
        return moved

    def park(self, member: str, jobs: list[Job], held: bool) -> None:
        """Append ``jobs`` (in order) to the lease's queue, then settle them."""
        self.parked.add(member)  # now: later jobs of this batch must follow them there
        if held:
            self.held.add(member)
        self._appends.append((member, jobs))
        if not self._appending:
            self._appending = True
            self._spawn(self._append_all())

    async def _append_all(self) -> None:
        """Write the gathered appends, a transaction at a time. The writer lock is taken
        per transaction, so a retry waiting for it (its head and the lane's waiting jobs
        go before what parked after it) is not overtaken."""
        try:
            while self._appends:
                wait = self._written_at + APPEND_GATHER - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                async with self.writer():
                    self._written_at = time.monotonic()
                    batch = self._appends[:APPEND_BATCH]
                    del self._appends[:APPEND_BATCH]
                    appends, written = self._encode(batch)
                    if appends:
                        await self._durably(partial(self.queues.append_many, appends))
                for jobs in written:
                    for job in jobs:
                        self._release(job)
        finally:
            self._appending = False

    def _encode(
        self, batch: list[tuple[str, list[Job]]]
    ) -> tuple[dict[str, tuple[list[RetryJob], float]], list[list[Job]]]:
        """Each lease's jobs as queue entries, with the due time its queue gets if it was
        not parked: now, or (held: a delivery of it is in flight here, whose end releases
        the queue) after the claim. Held is read now, not when it parked: a delivery that
        ended meanwhile released a queue that was still empty."""
        now = time.time()
        appends: dict[str, tuple[list[RetryJob], float]] = {}
        written = []
        for member, jobs in batch:
            try:
                encoded = [to_retry(job) for job in jobs]
            except Exception:  # not written, so not settled: its records stay held
                log.exception("deliveries of %s not parked", member)
                continue
            due = now + self.claim_seconds if member in self.held else now
            appends.setdefault(member, ([], due))[0].extend(encoded)
            written.append(jobs)
        return appends, written

    async def retry(self, lane: Lane | None, job: Job, delay: float) -> None:
        """Attempt ``job.number + 1`` of an ordered delivery after ``delay``, first of its
        lease: the head of the queue again, or a new head with the waiting ones behind."""
        head, due = to_retry(job, job.number + 1), time.time() + delay
        if job.ordered_key is not None:
            member = job.ordered_key
            await self._durably(lambda: self.queues.retry_head(member, head, due))
            self.held.discard(member)
            return
        member = to_member(job.subscription_id, job.lease)
        self.parked.add(member)
        waiting = self.take(lane, job.lease) if lane is not None else []
        behind = [to_retry(j) for j in waiting]
        async with self.writer():
            await self._durably(lambda: self.queues.requeue(member, head, behind, due))
        self.held.discard(member)
        for waiting_job in waiting:
            self._release(waiting_job)

    async def go_on(self, job: Job) -> None:
        """A delivery of an ordered lease ended for good: the next one of its queue may go."""
        if job.ordered_key is not None:
            member = job.ordered_key
            left = await self._durably(lambda: self.queues.advance(member, time.time()))
            if left == 0:
                self.parked.discard(member)
            self.held.discard(member)
            return
        member = to_member(job.subscription_id, job.lease)
        if member in self.held:  # parked while this one was in flight
            # Under the writer: an append of the lease is written either before (then this
            # makes its queue due now) or after (then it sees the lease no longer held).
            async with self.writer():
                self.held.discard(member)
                await self._durably(lambda: self.queues.release(member, time.time()))

    async def keep_claims(self, until: float) -> None:
        if self.held:
            await self.queues.extend(sorted(self.held), until)
