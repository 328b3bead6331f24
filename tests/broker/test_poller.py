"""The retry poller on the real Redis schedule: a malformed job is set aside with its reason,
a Redis error while handling one job is survived, and neither stops the other jobs."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.exceptions import ConnectionError as RedisDown

from blazar_events.subscription import Subscription
from broker import poller as poller_module
from broker.index import SubscriptionIndex, from_subscription_entry
from broker.lanes import Job
from broker.metrics import BrokerMetrics
from broker.poller import RetryPoller
from broker.retries import RetryJob, RetrySchedule
from broker.settings import BrokerSettings

GOOD = json.dumps({"specversion": "1.0", "id": "e1", "source": "/s", "type": "t"}).encode()


class Lane:
    ordered = False

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def stuck(self, now: float, after: float) -> bool:
        return False

    def offer(self, job: Job, force: bool = False) -> bool:
        self.jobs.append(job)
        return True


class Dispatcher:
    parking = None

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.the_lane = Lane()

    def lane(self, entry: Any) -> Lane:
        return self.the_lane


def to_poller(schedule: Any, sub: Subscription) -> tuple[RetryPoller, Dispatcher, BrokerMetrics]:
    index = SubscriptionIndex()
    index.put(from_subscription_entry(sub))
    dispatcher, metrics = Dispatcher(), BrokerMetrics()
    settings = BrokerSettings.load(retry_poll_interval=0.01)
    poller = RetryPoller(settings, schedule, index, dispatcher, metrics, lambda e: "lease")  # type: ignore[arg-type]
    return poller, dispatcher, metrics


# Whatever another writer left in the jobs hash: not JSON, JSON of the wrong shape, a job
# whose event is no CloudEvent.
MALFORMED = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda v: json.dumps(v).encode(), st.dictionaries(st.text(max_size=5), st.integers())
    ),
    st.builds(
        lambda event: json.dumps({"sub": "s", "n": 2, "event": event}).encode(),
        st.text(max_size=100),
    ),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(junk=MALFORMED)
def test_malformed_jobs_are_set_aside_and_good_ones_still_run(
    redis_url: str, redis_prefix: str, junk: bytes
) -> None:
    sub = Subscription(project_id="p", sink="http://sink.test/")

    async def main() -> tuple[list[Job], list[Any], int, float | None]:
        client = aioredis.Redis.from_url(redis_url)
        schedule = RetrySchedule(client, f"{redis_prefix}:{time.monotonic_ns()}")
        poller, dispatcher, metrics = to_poller(schedule, sub)
        await client.hset(schedule.jobs_key, "bad", junk)
        await client.zadd(schedule.schedule_key, {"bad": 0})
        await schedule.put(RetryJob(sub.id, 2, GOOD), 0, "good")
        task = asyncio.create_task(poller.run())
        deadline = time.monotonic() + 30
        while not dispatcher.the_lane.jobs and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        while await client.llen(schedule.rejected_key) == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        alive = not task.done()
        task.cancel()
        rejected = [json.loads(r) for r in await client.lrange(schedule.rejected_key, 0, -1)]
        left = await client.zcard(schedule.schedule_key)  # "good" stays claimed until done
        errors = metrics.registry.get_sample_value(
            "blazar_events_broker_errors_total", {"stage": "retry-job"}
        )
        await client.aclose()
        assert alive
        return dispatcher.the_lane.jobs, rejected, left, errors

    jobs, rejected, left, errors = asyncio.run(main())
    assert [(j.retry_key, j.number) for j in jobs] == [("good", 2)]
    assert [r["key"] for r in rejected] == ["bad"] and rejected[0]["reason"]
    assert left == 1 and errors == 1


def test_a_redis_error_while_handling_a_job_does_not_stop_the_poller() -> None:
    sub = Subscription(project_id="p", sink="http://sink.test/")

    class Flaky:
        def __init__(self) -> None:
            self.claims = 0

        async def claim(self, now: float, seconds: float, limit: int) -> list[tuple[str, bytes]]:
            self.claims += 1
            if self.claims == 1:
                raise RedisDown("down")
            job = RetryJob("gone-subscription" if self.claims == 2 else sub.id, 2, GOOD)
            return [(f"k{self.claims}", job.to_json().encode())]

        async def done(self, key: str) -> None:
            raise RedisDown("down while marking done")

        async def put(self, *args: Any) -> None:
            raise RedisDown("down while putting")

    async def main() -> tuple[list[Job], float | None]:
        schedule = Flaky()
        poller, dispatcher, metrics = to_poller(schedule, sub)
        task = asyncio.create_task(poller.run())
        deadline = time.monotonic() + 30
        while not dispatcher.the_lane.jobs and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert not task.done()
        task.cancel()
        errors = metrics.registry.get_sample_value(
            "blazar_events_broker_errors_total", {"stage": "retry-job"}
        )
        return dispatcher.the_lane.jobs, errors

    jobs, errors = asyncio.run(main())
    assert [j.retry_key for j in jobs][:1] == ["k3"]
    assert errors == 1  # the done() of the gone subscription's job


def test_a_stuck_subscribers_jobs_are_postponed_unread_and_unchanged(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hung sink's retries fall due again every few seconds while it stays stuck: each
    was parsed (JSON, then the CloudEvent) and written back whole, a Redis round trip each,
    on the event loop every other subscriber's deliveries share. They are moved on by key
    alone now, in one write, and nothing else changes."""
    sub = Subscription(project_id="p", sink="http://sink.test/")
    parsed: list[bytes] = []
    real_parse = poller_module.http.from_structured_event

    def counting(message: Any) -> Any:
        parsed.append(message.data)
        return real_parse(message)

    monkeypatch.setattr(poller_module.http, "from_structured_event", counting)

    async def main() -> tuple[list[Job], dict[bytes, float], dict[bytes, bytes], float]:
        client = aioredis.Redis.from_url(redis_url)
        schedule = RetrySchedule(client, f"{redis_prefix}:{time.monotonic_ns()}")
        poller, dispatcher, _ = to_poller(schedule, sub)
        dispatcher.the_lane.stuck = lambda now, after: True  # type: ignore[method-assign]
        jobs = [RetryJob(sub.id, 2, GOOD.replace(b"e1", b"e%d" % n)) for n in range(20)]
        await schedule.put_many([(job, 0, None) for job in jobs])
        written = await client.hgetall(schedule.jobs_key)
        started = time.time()
        task = asyncio.create_task(poller.run())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until every job was claimed and moved on
            due = await client.zrange(schedule.schedule_key, 0, -1, withscores=True)
            if due and min(score for _, score in due) > started:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        due = dict(await client.zrange(schedule.schedule_key, 0, -1, withscores=True))
        after = await client.hgetall(schedule.jobs_key)
        await client.aclose()
        assert written == after  # not rewritten (nor lost)
        return dispatcher.the_lane.jobs, due, after, started

    offered, due, after, started = asyncio.run(main())
    assert offered == [] and parsed == []
    assert len(due) == len(after) == 20
    stuck_after = BrokerSettings.load().stuck_after
    assert all(score >= started + stuck_after for score in due.values())
