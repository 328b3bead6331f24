"""The durable retry schedule on real Redis: a claim kept alive is not claimed again."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from broker.retries import RetryJob, RetrySchedule

EVENT = b'{"specversion": "1.0", "id": "e1", "source": "/s", "type": "t"}'


def test_a_kept_claim_is_not_claimed_twice_and_a_dropped_one_falls_due(
    redis_url: str, redis_prefix: str
) -> None:
    async def main() -> tuple[list[str], list[str], list[str], int]:
        client = aioredis.Redis.from_url(redis_url)
        schedule = RetrySchedule(client, redis_prefix)
        await schedule.put(RetryJob("s", 2, EVENT), 0, "kept")
        await schedule.put(RetryJob("s", 2, EVENT), 0, "dropped")
        first = [k for k, _ in await schedule.claim(time.time(), 0.2, 10)]
        kept = await schedule.extend(["kept", "finished-meanwhile"], time.time() + 60)
        await asyncio.sleep(0.3)  # the claims run out; only "kept" was extended
        second = [k for k, _ in await schedule.claim(time.time(), 0.2, 10)]
        await schedule.done("kept")
        await asyncio.sleep(0.3)
        third = [k for k, _ in await schedule.claim(time.time(), 60, 10)]
        await client.aclose()
        return sorted(first), second, third, kept

    first, second, third, kept = asyncio.run(main())
    assert first == ["dropped", "kept"]
    assert kept == 1  # a job done meanwhile is not brought back
    assert second == ["dropped"]
    assert third == ["dropped"]
