"""Parked ordered leases on the real Redis: appends gathered while one is written go in the
next transaction, in arrival order per lease, and every delivery settles once written."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.lanes import Job, Lane
from broker.ordered import OrderedQueues, to_member
from broker.parking import APPEND_GATHER, Parking
from tests.broker.test_ordered import payload


class Counting(OrderedQueues):
    """The real queues, counting the transactions that append."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        super().__init__(client, prefix)
        self.transactions = 0

    async def append_many(self, appends: Any) -> None:
        self.transactions += 1
        await super().append_many(appends)


def to_parking(queues: OrderedQueues) -> tuple[Parking, list[Job], set[asyncio.Task[None]]]:
    released: list[Job] = []
    tasks: set[asyncio.Task[None]] = set()

    async def durably(step: Any) -> Any:
        return await step()

    def spawn(coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return Parking(queues, 30.0, durably, released.append, spawn), released, tasks


async def settled(tasks: set[asyncio.Task[None]]) -> None:
    deadline = time.monotonic() + 30
    while tasks and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(leases=st.lists(st.integers(0, 7), min_size=1, max_size=300), seed=st.integers(0, 99))
def test_appends_of_many_leases_are_written_in_order_and_each_settles_once(
    redis_url: str, redis_prefix: str, leases: list[int], seed: int
) -> None:
    async def main() -> tuple[dict[str, list[str]], dict[str, list[str]], list[Job], int, int]:
        client = aioredis.Redis.from_url(redis_url)
        queues = Counting(client, f"{redis_prefix}{seed}-{len(leases)}-")
        parking, released, tasks = to_parking(queues)
        expected: dict[str, list[str]] = {}
        shuffle, ticks = random.Random(seed), 0
        for n, lease in enumerate(leases):  # some in the same tick, some a tick apart
            member = to_member("sub", f"l{lease}")
            parking.park(member, [Job("sub", payload(n), f"l{lease}")], held=False)
            expected.setdefault(member, []).append(f"e{n}")
            if shuffle.random() < 0.1:
                ticks += 1
                await asyncio.sleep(0)
        await settled(tasks)
        got = {}
        for member in expected:
            raws = await client.lrange(queues.list_key(member), 0, -1)
            got[member] = [json.loads(json.loads(raw)["event"])["id"] for raw in raws]
            await client.delete(queues.list_key(member))
        await client.delete(queues.due_key)
        await client.aclose()
        return got, expected, released, queues.transactions, ticks

    got, expected, released, transactions, ticks = asyncio.run(main())
    assert got == expected
    assert sorted(job.payload.event_id for job in released) == sorted(
        f"e{n}" for n in range(len(leases))
    )  # each once, after it was written
    # a write starts only when the parking code yields: not one round trip per delivery
    assert transactions <= ticks + 1


def test_a_retry_waiting_to_write_is_not_overtaken_by_later_appends(
    redis_url: str, redis_prefix: str
) -> None:
    async def main() -> list[tuple[str, int]]:
        client = aioredis.Redis.from_url(redis_url)
        queues = OrderedQueues(client, redis_prefix)
        parking, _released, tasks = to_parking(queues)
        in_flight = asyncio.Event()

        async def deliver(_job: Job) -> None:
            await in_flight.wait()

        lane = Lane(10, 1, deliver, _Depth(), ordered=True)
        first = Job("sub", payload(0), "lease")
        lane.offer(first)
        lane.offer(Job("sub", payload(1), "lease"))  # waits in the lane behind e0
        await asyncio.sleep(0)  # e0 in flight
        other = to_member("sub", "other")
        parking.park(other, [Job("sub", payload(100), "other")], held=False)
        await asyncio.sleep(0)  # that append is being written, holding the writer
        retry = asyncio.ensure_future(parking.retry(lane, first, 0))  # e0 answered 503
        await asyncio.sleep(0)
        member = to_member("sub", "lease")
        parking.park(member, [Job("sub", payload(2), "lease")], held=False)  # arrives later
        await retry
        await settled(tasks)
        in_flight.set()
        await asyncio.gather(*lane.tasks)
        raws = await client.lrange(queues.list_key(member), 0, -1)
        await client.delete(queues.list_key(member), queues.list_key(other), queues.due_key)
        await client.aclose()
        return [(json.loads(json.loads(r)["event"])["id"], json.loads(r)["n"]) for r in raws]

    assert asyncio.run(main()) == [("e0", 2), ("e1", 1), ("e2", 1)]


class _Depth:
    value = 0


def test_appends_arriving_one_by_one_are_gathered(redis_url: str, redis_prefix: str) -> None:
    async def main() -> tuple[int, float, list[str]]:
        client = aioredis.Redis.from_url(redis_url)
        queues = Counting(client, redis_prefix)
        parking, _released, tasks = to_parking(queues)
        member = to_member("sub", "lease")
        started = time.monotonic()
        for n in range(40):  # a hostile ordered subscriber's events, one at a time
            parking.park(member, [Job("sub", payload(n), "lease")], held=False)
            await asyncio.sleep(0.005)
        await settled(tasks)
        elapsed = time.monotonic() - started
        raws = await client.lrange(queues.list_key(member), 0, -1)
        await client.aclose()
        ids = [json.loads(json.loads(raw)["event"])["id"] for raw in raws]
        return queues.transactions, elapsed, ids

    transactions, elapsed, ids = asyncio.run(main())
    assert ids == [f"e{n}" for n in range(40)]
    assert transactions <= elapsed / APPEND_GATHER + 2  # not one round trip per event


def test_a_queue_released_before_its_append_is_written_is_due_at_once(
    redis_url: str, redis_prefix: str
) -> None:
    async def main() -> float:
        client = aioredis.Redis.from_url(redis_url)
        queues = OrderedQueues(client, redis_prefix)
        parking, _released, tasks = to_parking(queues)
        member = to_member("sub", "lease")
        # the lane was full behind e0 in flight: e1 parks held, behind it
        parking.park(member, [Job("sub", payload(1), "lease")], held=True)
        await parking.go_on(Job("sub", payload(0), "lease"))  # e0 delivered meanwhile
        await settled(tasks)
        due = float(await client.zscore(queues.due_key, member) or 0)
        await client.aclose()
        return due

    assert asyncio.run(main()) <= time.time()  # e1 goes now, not after e0's claim (30 s)
