"""One lane per subscriber: a bounded queue and a concurrency limit of its own.

A slow or hung sink fills only its own lane; other lanes keep their workers and go on. Workers
are tasks started on demand and ended when the lane is empty, so 100,000 idle subscriptions
cost no tasks. An ``ordered`` lane runs one delivery per lease at a time, in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from delivery.request import Payload

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Job:
    """One delivery of one event to one subscription."""

    subscription_id: str
    payload: Payload
    lease: str  # the ordering key (partitionkey / lease id)
    number: int = 1  # the attempt this will be
    settled: Callable[[], None] | None = None  # tells the Kafka offset tracker it is done
    retry_key: str | None = None  # set when the job came from the retry schedule
    ordered_key: str | None = None  # set when it came from an ordered lease's durable queue


Runner = Callable[[Job], Awaitable[None]]


class Depth:
    """Jobs waiting in every lane together (the queue-depth metric)."""

    value = 0


class Lane:
    def __init__(
        self, capacity: int, concurrency: int, run: Runner, depth: Depth, ordered: bool = False
    ) -> None:
        self.capacity = capacity
        self.concurrency = concurrency
        self.ordered = ordered
        self._run = run
        self._depth = depth
        self._waiting: deque[Job] = deque()
        # ordered lanes: jobs per lease, the leases ready to run, the leases being delivered.
        self._by_lease: dict[str, deque[Job]] = {}
        self._ready: deque[str] = deque()
        self._busy: set[str] = set()
        self._queued = 0
        self._active = 0
        self._starting = 0  # workers started that have not taken a job yet
        # Workers allowed now: one while the sink answers nothing (its attempts end at their
        # deadline), so that a hung endpoint holds one connection, not ``concurrency``.
        self.limit = concurrency
        self.progress_at = time.monotonic()  # when a job last finished (or the lane began)
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def queued(self) -> int:
        return self._queued

    @property
    def idle(self) -> bool:
        return self._queued == 0 and self._active == 0

    def offer(self, job: Job, force: bool = False) -> bool:
        """Queue ``job``; False when the lane is full (the caller spills it to the schedule).

        ``force`` queues beyond capacity: an ordered lane cannot spill without reordering.
        """
        if self._queued >= self.capacity and not force:
            return False
        if self.idle:  # the clock of "no progress" starts now, not at the last job long ago
            self.progress_at = time.monotonic()
        self._queued += 1
        self._depth.value += 1
        if self.ordered:
            pending = self._by_lease.setdefault(job.lease, deque())
            pending.append(job)
            if len(pending) == 1 and job.lease not in self._busy:
                self._ready.append(job.lease)
        else:
            self._waiting.append(job)
        self._pump()
        return True

    def throttle(self) -> None:
        """An attempt ended at its deadline: one attempt at a time until the sink answers."""
        self.limit = 1

    def answered(self) -> None:
        """The sink answered (whatever the status): its full concurrency again."""
        if self.limit != self.concurrency:
            self.limit = self.concurrency
            self._pump()

    def stuck(self, now: float, after: float) -> bool:
        """Every worker busy, jobs waiting, and nothing finished for ``after`` seconds."""
        return self._queued > 0 and self._active >= self.limit and now - self.progress_at > after

    def take_queued(self) -> list[Job]:
        """Remove the waiting jobs (to park them in the retry schedule); unordered lanes only."""
        if self.ordered:
            return []
        jobs = list(self._waiting)
        self._waiting.clear()
        self._queued -= len(jobs)
        self._depth.value -= len(jobs)
        return jobs

    def busy(self, lease: str) -> bool:
        """Whether a delivery of ``lease`` is in flight (ordered lanes)."""
        return lease in self._busy

    def waiting_leases(self) -> list[str]:
        return list(self._by_lease)

    def take_lease(self, lease: str) -> list[Job]:
        """Remove the waiting jobs of one lease, in order (to park them durably)."""
        pending = self._by_lease.pop(lease, None)
        if not pending:
            return []
        if lease in self._ready:
            self._ready.remove(lease)
        self._queued -= len(pending)
        self._depth.value -= len(pending)
        return list(pending)

    def _next(self) -> Job | None:
        if not self.ordered:
            return self._waiting.popleft() if self._waiting else None
        if not self._ready:
            return None
        lease = self._ready.popleft()
        pending = self._by_lease[lease]
        job = pending.popleft()
        if not pending:
            del self._by_lease[lease]
        self._busy.add(lease)
        return job

    def _done(self, job: Job) -> None:
        if self.ordered:
            self._busy.discard(job.lease)
            if job.lease in self._by_lease:
                self._ready.append(job.lease)

    def _pump(self) -> None:
        runnable = len(self._ready) if self.ordered else len(self._waiting)
        while self._active < self.limit and self._starting < runnable:
            self._active += 1
            self._starting += 1
            task = asyncio.get_running_loop().create_task(self._work())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _work(self) -> None:
        starting = True
        try:
            while self._active <= self.limit and (job := self._next()) is not None:
                if starting:
                    starting = False
                    self._starting -= 1
                self._queued -= 1
                self._depth.value -= 1
                try:
                    await self._run(job)
                except asyncio.CancelledError:
                    raise
                except Exception:  # a bug must not kill the lane; the job is redelivered later
                    log.exception("delivery to subscription %s failed", job.subscription_id)
                finally:
                    self.progress_at = time.monotonic()
                    self._done(job)
        finally:
            self._active -= 1
            if starting:
                self._starting -= 1
