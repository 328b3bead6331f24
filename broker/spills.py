"""Deliveries that leave memory for the durable retry schedule: a full lane's overflow, a
stuck lane's waiting ones, and the next attempt of a delivery to retry.

Each is written until Redis takes it (``durably``) and only then settled (``release``), so
its Kafka record moves on only once the delivery is durable elsewhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from broker.lanes import Job, Lane
from broker.parking import Parking
from broker.retries import RetryJob, RetrySchedule
from broker.settings import BrokerSettings

Durably = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]
CHUNK = 500  # deliveries written in one transaction


def to_retry(job: Job, number: int) -> RetryJob:
    return RetryJob(job.subscription_id, number, job.payload.structured.body)


class Spills:
    def __init__(
        self,
        settings: BrokerSettings,
        schedule: RetrySchedule,
        durably: Durably,
        release: Callable[[Job], None],
        spawn: Callable[[Awaitable[None]], None],
    ) -> None:
        self.settings = settings
        self.schedule = schedule
        self._durably = durably
        self._release = release
        self._spawn = spawn

    async def reschedule(self, job: Job, number: int, delay: float) -> None:
        """Attempt ``number`` of ``job`` after ``delay`` (the caller settles it)."""
        retry = to_retry(job, number)
        await self._durably(partial(self.schedule.put, retry, time.time() + delay, job.retry_key))

    async def one(self, job: Job) -> None:
        """The lane is full: the job (same attempt number) waits in the schedule."""
        await self.reschedule(job, job.number, self.settings.overflow_delay)
        self._release(job)

    async def many(self, jobs: list[Job]) -> None:
        """A stuck lane's waiting jobs, a transaction per ``CHUNK``, due once the lane has
        had time to come unstuck."""
        due = time.time() + max(self.settings.overflow_delay, self.settings.stuck_after)
        batch = [(to_retry(job, job.number), due, job.retry_key) for job in jobs]
        for start in range(0, len(batch), CHUNK):
            chunk = batch[start : start + CHUNK]
            await self._durably(partial(self.schedule.put_many, chunk))
            await asyncio.sleep(0)  # let other subscribers' deliveries run between chunks
        for job in jobs:
            self._release(job)

    def stuck(self, lanes: Mapping[str, Lane], parking: Parking | None, after: float) -> int:
        """Move the waiting jobs of lanes that made no progress for ``after`` seconds here
        (an ordered lane's to its leases' queues); returns how many moved.

        A hung sink holds its workers until they time out; its waiting jobs would hold their
        Kafka records (and, at ``max_pending_records``, everyone's consumption). In the
        retry schedule they are settled and wait there instead.
        """
        now, jobs, parked = time.monotonic(), [], 0
        for sub_id, lane in lanes.items():
            if not lane.stuck(now, after):
                continue
            if lane.ordered and parking is not None:
                parked += parking.spill(sub_id, lane)
            else:
                jobs.extend(lane.take_queued())
        if jobs:
            self._spawn(self.many(jobs))
        return len(jobs) + parked
