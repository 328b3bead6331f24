"""Each subscriber's lane: bounded, concurrency-limited, ordered per lease when asked."""

from __future__ import annotations

import asyncio

from cloudevents.core.v1.event import CloudEvent

from broker.lanes import Depth, Job, Lane
from delivery.request import Payload

PAYLOAD = Payload(CloudEvent({"id": "e", "source": "/s", "type": "t", "specversion": "1.0"}))


def job(lease: str, n: int) -> Job:
    return Job("sub", PAYLOAD, lease, number=n)


def test_a_full_lane_refuses_and_concurrency_is_limited() -> None:
    async def main() -> tuple[list[bool], int]:
        running, peak = 0, 0
        release = asyncio.Event()

        async def run(_job: Job) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await release.wait()
            running -= 1

        lane = Lane(capacity=3, concurrency=2, run=run, depth=Depth())
        offers = [lane.offer(job("l", n)) for n in range(4)]
        await asyncio.sleep(0.01)
        offers.append(lane.offer(job("l", 9)))  # two taken by workers: room again
        release.set()
        while not lane.idle:
            await asyncio.sleep(0.01)
        return offers, peak

    offers, peak = asyncio.run(main())
    assert offers == [True, True, True, False, True]
    assert peak == 2


def test_an_ordered_lane_delivers_one_lease_at_a_time_in_order() -> None:
    async def main() -> list[tuple[str, int]]:
        seen: list[tuple[str, int]] = []

        async def run(j: Job) -> None:
            await asyncio.sleep(0.001 * (5 - j.number))  # later jobs would overtake if allowed
            seen.append((j.lease, j.number))

        lane = Lane(capacity=100, concurrency=8, run=run, depth=Depth(), ordered=True)
        for n in range(5):
            lane.offer(job("a", n))
            lane.offer(job("b", n))
        while not lane.idle:
            await asyncio.sleep(0.01)
        return seen

    seen = asyncio.run(main())
    assert [n for lease, n in seen if lease == "a"] == [0, 1, 2, 3, 4]
    assert [n for lease, n in seen if lease == "b"] == [0, 1, 2, 3, 4]


def test_a_lane_without_progress_is_stuck_and_gives_up_its_waiting_jobs() -> None:
    async def main() -> tuple[bool, bool, int, int]:
        hang = asyncio.Event()

        async def run(_job: Job) -> None:
            await hang.wait()

        lane = Lane(capacity=100, concurrency=2, run=run, depth=Depth())
        for n in range(5):
            lane.offer(job("l", n))
        await asyncio.sleep(0.05)
        early = lane.stuck(lane.progress_at + 0.01, after=1.0)
        late = lane.stuck(lane.progress_at + 2.0, after=1.0)
        taken = len(lane.take_queued())
        left = lane.queued
        hang.set()
        return early, late, taken, left

    early, late, taken, left = asyncio.run(main())
    assert (early, late) == (False, True)
    assert (taken, left) == (3, 0)  # two are in flight, three were waiting


def test_a_lane_whose_sink_answers_nothing_runs_one_attempt_at_a_time() -> None:
    """A hung endpoint held a connection per worker (32) for each attempt's whole timeout,
    of the connections its host's other subscribers share; throttled, it holds one until its
    sink answers again, and a throttled lane that makes no progress is still seen stuck."""

    async def main() -> tuple[int, int, bool, int]:
        running, peak = 0, 0
        release = asyncio.Event()

        async def run(_job: Job) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await release.wait()
            running -= 1

        lane = Lane(100, 8, run, Depth())
        lane.throttle()
        for n in range(20):
            lane.offer(job("l", n))
        await asyncio.sleep(0.05)
        throttled_peak = peak
        stuck = lane.stuck(lane.progress_at + 10, 3)
        lane.answered()
        await asyncio.sleep(0.05)
        answered_peak = peak
        release.set()
        while not lane.idle:
            await asyncio.sleep(0.01)
        return throttled_peak, answered_peak, stuck, running

    throttled_peak, answered_peak, stuck, running = asyncio.run(main())
    assert throttled_peak == 1 and stuck
    assert answered_peak == 8 and running == 0
