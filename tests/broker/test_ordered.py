"""Ordered subscriptions park in durable per-lease queues on the real Redis: a delivery to
retry heads its lease's queue with the lease's waiting ones behind it, later ones follow,
every Kafka record settles, and the queue drains in order."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import redis.asyncio as aioredis
from cloudevents.core.v1.event import CloudEvent

from blazar_events.subscription import DeliverySpec
from broker.lanes import Job
from broker.ordered import OrderedQueues, to_member
from delivery.outcomes import Delivered, Retry
from delivery.request import Payload
from tests.broker.test_dispatcher import Producer, Schedule, Sender, Settle, to_dispatcher

ORDERED = DeliverySpec(ordered=True, retry=5, backoffDelay="PT10S")


def payload(n: int) -> Payload:
    return Payload(CloudEvent({"id": f"e{n}", "source": "/s", "type": "t", "specversion": "1.0"}))


class Gate(Sender):
    """The first attempt waits for ``open`` and answers ``first``; later ones answer 200."""

    def __init__(self, first: Any) -> None:
        super().__init__(first)
        self.open = asyncio.Event()
        self.ids: list[str] = []

    async def attempt(self, target: Any, payload: Any, secrets: Any, number: int = 1) -> Any:
        self.ids.append(payload.event_id)
        if len(self.ids) == 1:
            await self.open.wait()
        return await super().attempt(target, payload, secrets, number)


async def queued(client: aioredis.Redis, queues: OrderedQueues, member: str) -> list[tuple]:
    raws = await client.lrange(queues.list_key(member), 0, -1)
    return [(json.loads(json.loads(r)["event"])["id"], json.loads(r)["n"]) for r in raws]


async def idle(dispatcher: Any) -> None:
    deadline = time.monotonic() + 30
    while not await dispatcher.drain(0.05) and time.monotonic() < deadline:
        pass


def test_a_retry_parks_the_lease_in_order_and_settles_every_record(
    redis_url: str, redis_prefix: str
) -> None:
    async def main() -> tuple[list[tuple], list[int], bool, float, list[str]]:
        client = aioredis.Redis.from_url(redis_url)
        queues = OrderedQueues(client, redis_prefix)
        sender = Gate(Retry("503", 503))
        dispatcher, _, sub_id = to_dispatcher(sender, Schedule(), Producer(), ORDERED)
        parking = dispatcher.park_in(queues)
        entry = dispatcher.index.get(sub_id)
        settles = [Settle() for _ in range(5)]
        for n in range(4):  # e0 in flight (held at the gate), e1..e3 wait in the lane
            dispatcher.submit(entry, Job(sub_id, payload(n), "lease", settled=settles[n]))
        await asyncio.sleep(0.05)
        sender.open.set()  # e0 answers 503: the lease parks
        await idle(dispatcher)
        dispatcher.submit(entry, Job(sub_id, payload(4), "lease", settled=settles[4]))
        await idle(dispatcher)
        member = to_member(sub_id, "lease")
        got = await queued(client, queues, member)
        due = float(await client.zscore(queues.due_key, member) or 0)
        await client.aclose()
        return got, [s.count for s in settles], member in parking.parked, due, sender.ids

    got, settled, parked, due, attempted = asyncio.run(main())
    assert got == [("e0", 2), ("e1", 1), ("e2", 1), ("e3", 1), ("e4", 1)]
    assert settled == [1, 1, 1, 1, 1]  # every record may commit while the lease waits
    assert parked and due > time.time() + 5  # e0's backoff (10 s), nothing sooner
    assert attempted == ["e0"]  # nothing of the lease overtook it


def test_a_parked_lease_drains_in_order_and_unparks(redis_url: str, redis_prefix: str) -> None:
    from broker.poller import RetryPoller
    from broker.settings import BrokerSettings

    async def main() -> tuple[list[str], bool, int]:
        client = aioredis.Redis.from_url(redis_url)
        queues = OrderedQueues(client, redis_prefix)
        sender = Gate(Retry("503", 503))  # the first drained attempt fails once more
        sender.open.set()
        dispatcher, metrics, sub_id = to_dispatcher(
            sender,
            Schedule(),
            Producer(),
            DeliverySpec(ordered=True, retry=5, backoffDelay="PT0.1S"),
        )
        parking = dispatcher.park_in(queues)
        member = to_member(sub_id, "lease")
        from broker.retries import RetryJob

        jobs = [RetryJob(sub_id, 2, payload(n).structured.body) for n in range(3)]
        await queues.push_back(member, jobs, 0)
        settings = BrokerSettings.load(retry_poll_interval=0.02)
        poller = RetryPoller(
            settings, dispatcher.schedule, dispatcher.index, dispatcher, metrics, lambda e: "lease"
        )
        task = asyncio.create_task(poller.run())
        deadline = time.monotonic() + 30
        while len(sender.ids) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        while await client.exists(queues.list_key(member)) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await idle(dispatcher)
        task.cancel()
        left = await client.zcard(queues.due_key)
        await client.aclose()
        return sender.ids, member in parking.parked, left

    ids, parked, left = asyncio.run(main())
    assert ids == ["e0", "e0", "e1", "e2"]  # the head retried before anything behind it
    assert not parked and left == 0


def test_a_full_ordered_lane_parks_behind_the_delivery_in_flight(
    redis_url: str, redis_prefix: str
) -> None:
    async def main() -> tuple[list[tuple], float, float, list[int], list[str]]:
        client = aioredis.Redis.from_url(redis_url)
        queues = OrderedQueues(client, redis_prefix)
        sender = Gate(Delivered(200))
        dispatcher, _, sub_id = to_dispatcher(sender, Schedule(), Producer(), ORDERED, queue_size=1)
        dispatcher.park_in(queues)
        entry = dispatcher.index.get(sub_id)
        member = to_member(sub_id, "lease")
        settles = [Settle() for _ in range(3)]
        for n in range(3):  # e0 in flight, e1 waits, e2 finds the lane full
            dispatcher.submit(entry, Job(sub_id, payload(n), "lease", settled=settles[n]))
            await asyncio.sleep(0.02)
        while await client.llen(queues.list_key(member)) < 2:
            await asyncio.sleep(0.01)
        held_due = float(await client.zscore(queues.due_key, member) or 0)
        sender.open.set()  # e0 delivered: the queue may go on
        await idle(dispatcher)
        got = await queued(client, queues, member)
        due = float(await client.zscore(queues.due_key, member) or 0)
        await client.aclose()
        return got, held_due, due, [s.count for s in settles], sender.ids

    got, held_due, due, settled, attempted = asyncio.run(main())
    assert got == [("e1", 1), ("e2", 1)]
    assert held_due > time.time() + 60  # waits for e0, however long its sink takes
    assert due <= time.time()  # e0 done: e1 is due now
    assert settled == [1, 1, 1] and attempted == ["e0"]


def test_a_deleted_subscriptions_parked_leases_are_dropped(
    redis_url: str, redis_prefix: str
) -> None:
    from broker.poller import RetryPoller
    from broker.retries import RetryJob
    from broker.settings import BrokerSettings

    async def main() -> tuple[int, int, list[str]]:
        client = aioredis.Redis.from_url(redis_url)
        queues = OrderedQueues(client, redis_prefix)
        sender = Gate(Delivered(200))
        sender.open.set()
        dispatcher, metrics, _ = to_dispatcher(sender, Schedule(), Producer(), ORDERED)
        parking = dispatcher.park_in(queues)
        member = to_member("deleted-sub", "lease")
        jobs = [RetryJob("deleted-sub", 1, payload(n).structured.body) for n in range(50)]
        await queues.push_back(member, jobs, 0)
        parking.parked.add(member)
        poller = RetryPoller(
            BrokerSettings.load(retry_poll_interval=0.02), dispatcher.schedule, dispatcher.index,
            dispatcher, metrics, lambda e: "lease",
        )  # fmt: skip
        task = asyncio.create_task(poller.run())
        deadline = time.monotonic() + 30
        while await client.exists(queues.list_key(member)) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        task.cancel()
        left = await client.exists(queues.list_key(member))
        due = await client.zcard(queues.due_key)
        await client.aclose()
        assert member not in parking.parked
        return left, due, sender.ids

    left, due, attempted = asyncio.run(main())
    assert (left, due, attempted) == (0, 0, [])
