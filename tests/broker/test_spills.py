"""Deliveries leaving memory for the real retry schedule: a stuck lane's waiting jobs are
written (in transactions of a bounded size) and only then settled, each once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis

from broker.lanes import Depth, Job, Lane
from broker.retries import RetrySchedule
from broker.settings import BrokerSettings
from broker.spills import CHUNK, Spills
from tests.broker.test_ordered import payload


def test_a_stuck_lanes_waiting_jobs_are_written_then_settled(
    redis_url: str, redis_prefix: str
) -> None:
    jobs = 2 * CHUNK + 7

    async def main() -> tuple[int, int, list[str], float, int]:
        client = aioredis.Redis.from_url(redis_url)
        schedule = RetrySchedule(client, redis_prefix)
        released: list[Job] = []
        tasks: set[asyncio.Task[None]] = set()
        written_when_released: list[int] = []

        def release(job: Job) -> None:
            released.append(job)

        async def durably(step: Any) -> Any:
            return await step()

        def spawn(coro: Any) -> None:
            task = asyncio.ensure_future(coro)
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        settings = BrokerSettings.load(stuck_after=1.0, overflow_delay=5.0)
        spills = Spills(settings, schedule, durably, release, spawn)
        hung = asyncio.Event()

        async def deliver(_job: Job) -> None:
            await hung.wait()

        lane = Lane(jobs + 1, 1, deliver, Depth())
        for n in range(jobs + 1):  # the first is in flight, the others wait
            lane.offer(Job("sub", payload(n), "lease"))
        await asyncio.sleep(0)
        lane.progress_at -= 10  # nothing finished for 10 s
        moved = spills.stuck({"sub": lane}, None, 1.0)
        while tasks:
            await asyncio.sleep(0.01)
        written_when_released.append(await schedule.backlog())
        due = min(score for _, score in await client.zrange(
            schedule.schedule_key, 0, -1, withscores=True))  # fmt: skip
        hung.set()
        await asyncio.gather(*lane.tasks)
        await client.aclose()
        ids = [job.payload.event_id for job in released]
        return moved, written_when_released[0], ids, due, lane.queued

    moved, backlog, ids, due, left = asyncio.run(main())
    assert moved == jobs and backlog == jobs and left == 0
    assert sorted(ids) == sorted(f"e{n}" for n in range(1, jobs + 1))  # each once
    assert due >= time.time() + 3  # the overflow delay, not at once
