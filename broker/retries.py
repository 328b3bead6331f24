"""The durable retry schedule: a Redis sorted set of due times plus a hash of the jobs.

A delivery that must be retried is written here and its Kafka record counts as done, so a
failing subscriber never holds a partition. Any broker of the group may claim a due job;
claiming pushes its due time ``claim_seconds`` ahead instead of removing it, so a broker that
dies mid-attempt loses nothing: the job simply falls due again (at-least-once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

# KEYS: schedule, jobs. ARGV: now, claim_until, limit. Returns [member, job, member, job...].
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local out = {}
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
  local job = redis.call('HGET', KEYS[2], member)
  if job then
    table.insert(out, member)
    table.insert(out, job)
  else
    redis.call('ZREM', KEYS[1], member)
  end
end
return out
"""


@dataclass(frozen=True, slots=True)
class RetryJob:
    """A delivery to try again: the subscription, the attempt number it will be, the event."""

    subscription_id: str
    number: int
    event: bytes  # the CloudEvent, structured JSON

    @property
    def key(self) -> str:
        return to_key(self.subscription_id, self.event_id)

    @property
    def event_id(self) -> str:
        return str(json.loads(self.event)["id"])

    def to_json(self) -> str:
        return json.dumps(
            {"sub": self.subscription_id, "n": self.number, "event": self.event.decode()}
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> RetryJob:
        data: dict[str, Any] = json.loads(raw)
        return cls(str(data["sub"]), int(data["n"]), str(data["event"]).encode())


def to_key(subscription_id: str, event_id: str) -> str:
    return f"{subscription_id}|{event_id}"


class RetrySchedule:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.schedule_key = f"{prefix}:broker:retries"
        self.jobs_key = f"{prefix}:broker:retry-jobs"
        self._claim = client.register_script(_CLAIM)

    async def put(self, job: RetryJob, due: float, key: str | None = None) -> None:
        """Schedule (or re-schedule) ``job`` at Unix time ``due``; returns once it is durable."""
        member = key or job.key
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.jobs_key, member, job.to_json())
            pipe.zadd(self.schedule_key, {member: due})
            await pipe.execute()

    async def put_many(self, jobs: list[tuple[RetryJob, float, str | None]]) -> None:
        """Schedule many ``(job, due, key)`` in one round trip (spilling a stuck lane)."""
        async with self.client.pipeline(transaction=True) as pipe:
            for job, due, key in jobs:
                member = key or job.key
                pipe.hset(self.jobs_key, member, job.to_json())
                pipe.zadd(self.schedule_key, {member: due})
            await pipe.execute()

    async def claim(
        self, now: float, claim_seconds: float, limit: int
    ) -> list[tuple[str, RetryJob]]:
        raw = await self._claim(
            keys=[self.schedule_key, self.jobs_key], args=[now, now + claim_seconds, limit]
        )
        pairs = list(raw or [])
        result = []
        for member, job in zip(pairs[0::2], pairs[1::2], strict=True):
            text = member.decode() if isinstance(member, bytes) else str(member)
            result.append((text, RetryJob.from_json(job)))
        return result

    async def done(self, key: str) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.zrem(self.schedule_key, key)
            pipe.hdel(self.jobs_key, key)
            await pipe.execute()

    async def backlog(self) -> int:
        return int(await self.client.zcard(self.schedule_key))
