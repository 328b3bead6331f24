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

from blazar_events.keys import Keys

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

# KEYS: schedule. ARGV: claim_until, member... Pushes each member still scheduled to
# claim_until (a claim kept while its job waits or runs); members done meanwhile stay gone.
_EXTEND = """
local kept = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
    kept = kept + 1
  end
end
return kept
"""

MAX_REJECTED = 1000  # malformed jobs kept for an operator to look at


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
        keys = Keys(prefix)
        self.schedule_key = keys.retries
        self.jobs_key = keys.retry_jobs
        self.rejected_key = keys.retry_rejected
        self._claim = client.register_script(_CLAIM)
        self._extend = client.register_script(_EXTEND)

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

    async def postpone(self, keys: list[str], due: float) -> None:
        """Move scheduled jobs to ``due``, unchanged (their subscriber cannot take them now);
        a job done meanwhile stays done."""
        for start in range(0, len(keys), 500):
            mapping = dict.fromkeys(keys[start : start + 500], due)
            await self.client.zadd(self.schedule_key, mapping, xx=True)

    async def claim(self, now: float, claim_seconds: float, limit: int) -> list[tuple[str, bytes]]:
        """Up to ``limit`` due jobs, each ``(key, raw job)``, pushed ``claim_seconds`` ahead.

        The raw job is parsed by the caller, one at a time: a malformed one is that job's
        problem (:meth:`reject`), not the batch's.
        """
        raw = await self._claim(
            keys=[self.schedule_key, self.jobs_key], args=[now, now + claim_seconds, limit]
        )
        pairs = list(raw or [])
        result = []
        for member, job in zip(pairs[0::2], pairs[1::2], strict=True):
            text = member.decode() if isinstance(member, bytes) else str(member)
            result.append((text, job if isinstance(job, bytes) else str(job).encode()))
        return result

    async def extend(self, keys: list[str], until: float) -> int:
        """Keep the claims of ``keys`` (jobs waiting or running here) until ``until``."""
        kept = 0
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            kept += int(await self._extend(keys=[self.schedule_key], args=[until, *chunk]))
        return kept

    async def reject(self, key: str, raw: bytes, reason: str) -> None:
        """Take a malformed job out of the schedule, keeping it (bounded) with the reason."""
        record = json.dumps({"key": key, "reason": reason, "job": raw.decode(errors="replace")})
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.lpush(self.rejected_key, record)
            pipe.ltrim(self.rejected_key, 0, MAX_REJECTED - 1)
            pipe.zrem(self.schedule_key, key)
            pipe.hdel(self.jobs_key, key)
            await pipe.execute()

    async def done(self, key: str) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.zrem(self.schedule_key, key)
            pipe.hdel(self.jobs_key, key)
            await pipe.execute()

    async def backlog(self) -> int:
        return int(await self.client.zcard(self.schedule_key))
