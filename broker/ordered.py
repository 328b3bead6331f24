"""The durable queues of ordered subscriptions: one Redis list per (subscription, lease).

An ``ordered`` subscription gets one delivery per lease at a time, in order. When a delivery
must wait (its sink asked for a retry, or the subscriber is stuck or full), that lease is
*parked*: the waiting delivery and every later one of the lease go to its list, in order, and
their Kafka records are settled, so a stuck ordered subscriber never holds the committed
offset for anyone. A sorted set says when each list's head is due; any broker claims a due
list (its due pushed ahead, like the retry schedule), delivers the head, then pops it, and
the lease is unparked once its list is empty.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from blazar_events.keys import Keys
from broker.retries import _EXTEND, RetryJob

# KEYS: due. ARGV: now, claim_until, limit. Returns the members claimed.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return due
"""

# KEYS: due, list. ARGV: member, now. The head was delivered or given up: the next is due now.
_ADVANCE = """
redis.call('LPOP', KEYS[2])
local left = redis.call('LLEN', KEYS[2])
if left == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
return left
"""

# KEYS: due, list. ARGV: member, due, job... Appended; due set only if the lease was not parked.
_PUSH_BACK = """
for i = 3, #ARGV do
  redis.call('RPUSH', KEYS[2], ARGV[i])
end
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
return redis.call('LLEN', KEYS[2])
"""

# KEYS: due, list. ARGV: member, due. A parked lease's in-flight delivery ended: go on.
_RELEASE = """
if redis.call('LLEN', KEYS[2]) > 0 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[1], ARGV[1])
return 0
"""


def to_member(subscription_id: str, lease: str) -> str:
    return f"{subscription_id}|{lease}"


class OrderedQueues:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.keys = Keys(prefix)
        self.due_key = self.keys.ordered_due
        self._claim = client.register_script(_CLAIM)
        self._advance = client.register_script(_ADVANCE)
        self._push_back = client.register_script(_PUSH_BACK)
        self._release = client.register_script(_RELEASE)
        self._extend = client.register_script(_EXTEND)

    def list_key(self, member: str) -> str:
        return self.keys.ordered(member)

    async def push_front(self, member: str, job: RetryJob, due: float) -> None:
        """The lease's oldest delivery (it was in flight) goes first, due at ``due``."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.lpush(self.list_key(member), job.to_json())
            pipe.zadd(self.due_key, {member: due})
            await pipe.execute()

    async def push_back(self, member: str, jobs: list[RetryJob], due: float) -> int:
        """Later deliveries of the lease, in order; ``due`` applies if it was not parked."""
        args: list[str | float] = [member, due, *(job.to_json() for job in jobs)]
        return int(await self._push_back(keys=[self.due_key, self.list_key(member)], args=args))

    async def append_many(self, appends: dict[str, tuple[list[RetryJob], float]]) -> None:
        """:meth:`push_back` of many leases in one transaction (one round trip): each
        lease's jobs appended in order, its ``due`` set only if it was not parked."""
        async with self.client.pipeline(transaction=True) as pipe:
            for member, (jobs, due) in appends.items():
                pipe.rpush(self.list_key(member), *(job.to_json() for job in jobs))
                pipe.zadd(self.due_key, {member: due}, nx=True)
            await pipe.execute()

    async def requeue(
        self, member: str, head: RetryJob, behind: list[RetryJob], due: float
    ) -> None:
        """:meth:`push_front` of ``head`` and :meth:`push_back` of ``behind``, in one
        transaction."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.lpush(self.list_key(member), head.to_json())
            if behind:
                pipe.rpush(self.list_key(member), *(job.to_json() for job in behind))
            pipe.zadd(self.due_key, {member: due})
            await pipe.execute()

    async def retry_head(self, member: str, job: RetryJob, due: float) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.lset(self.list_key(member), 0, job.to_json())
            pipe.zadd(self.due_key, {member: due})
            await pipe.execute()

    async def advance(self, member: str, now: float) -> int:
        """Pop the head (delivered or given up); returns how many are left (0: unparked)."""
        keys = [self.due_key, self.list_key(member)]
        return int(await self._advance(keys=keys, args=[member, now]))

    async def release(self, member: str, due: float) -> None:
        await self._release(keys=[self.due_key, self.list_key(member)], args=[member, due])

    async def drop(self, member: str) -> None:
        """The subscription is gone or disabled: its lease's waiting deliveries with it."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.list_key(member))
            pipe.zrem(self.due_key, member)
            await pipe.execute()

    async def claim(self, now: float, claim_seconds: float, limit: int) -> list[str]:
        raw = await self._claim(keys=[self.due_key], args=[now, now + claim_seconds, limit])
        return [m.decode() if isinstance(m, bytes) else str(m) for m in raw or []]

    async def extend(self, members: list[str], until: float) -> None:
        """Keep the claims of leases being delivered here (or held by an in-flight one)."""
        for start in range(0, len(members), 500):
            await self._extend(keys=[self.due_key], args=[until, *members[start : start + 500]])

    async def head(self, member: str) -> bytes | None:
        raw: Any = await self.client.lindex(self.list_key(member), 0)  # type: ignore[misc]
        return raw if isinstance(raw, bytes) or raw is None else str(raw).encode()

    async def members(self) -> set[str]:
        """Every parked lease (a broker starting learns which leases must wait)."""
        raw = await self.client.zrange(self.due_key, 0, -1)
        return {m.decode() if isinstance(m, bytes) else str(m) for m in raw}
