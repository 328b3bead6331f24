"""The durable reminder schedule in Redis: what is known of each live lease, and when each
(lease, kind, lead time) is due.

Keys (under ``<key_prefix>:reminders:``):

* ``leases`` — hash, lease id -> JSON of the lease's project, dates, status and the time of
  the event they came from (a deleted lease keeps a tombstone, so an older event replayed after
  a restart cannot bring it back); ``tombstones`` — sorted set of those, by deletion time;
* ``project:<id>`` — set of a project's live lease ids (to schedule a new lead time);
* ``due`` — sorted set, member ``[lease, kind, lead]`` (JSON), score = when it fires: one
  entry per live lease and distinct lead time of its project, whatever the number of
  subscriptions asking for it;
* ``inflight`` — sorted set of claimed entries, score = when the claim lapses, and
  ``claimed`` — hash, entry -> the fire time it was claimed for;
* ``leads`` — set of ``[project, kind, lead]`` the schedule has been filled for.

Claiming is one Lua script: due entries move to ``inflight`` atomically, and a claim whose
holder died (SIGKILL after claiming, before recording the reminders as sent) lapses and is
claimed again. A reminder is therefore sent at least once, and the same one twice only if the
scheduler dies between sending and :meth:`Schedule.done` — with the same event id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from blazar_events.keys import Keys
from blazar_events.reminders import Kind

# KEYS: due, inflight, claimed; ARGV: now, lapse (seconds), limit.
_CLAIM = """
local now, lapse, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(lapsed) do
  redis.call('ZADD', KEYS[2], now + lapse, member)
  table.insert(out, member)
  table.insert(out, redis.call('HGET', KEYS[3], member) or tostring(now))
end
if #out / 2 < limit then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0,
                         limit - #out / 2)
  for i = 1, #due, 2 do
    redis.call('ZREM', KEYS[1], due[i])
    redis.call('ZADD', KEYS[2], now + lapse, due[i])
    redis.call('HSET', KEYS[3], due[i], due[i + 1])
    table.insert(out, due[i])
    table.insert(out, due[i + 1])
  end
end
return out
"""


@dataclass(frozen=True)
class Lease:
    lease_id: str
    project_id: str
    start: datetime
    end: datetime
    time: datetime
    user_id: str | None = None
    status: str | None = None
    name: str | None = None

    def target(self, kind: Kind) -> datetime:
        return self.end if kind == "before_end" else self.start

    def to_json(self) -> bytes:
        return orjson.dumps(
            {"p": self.project_id, "s": self.start.timestamp(), "e": self.end.timestamp(),
             "t": self.time.timestamp(), "u": self.user_id, "st": self.status, "n": self.name}
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The shape :func:`blazar_events.reminders.to_reminder` reads."""
        return {"lease_id": self.lease_id, "project_id": self.project_id, "start": self.start,
                "end": self.end, "user_id": self.user_id, "status": self.status,
                "name": self.name}  # fmt: skip


def _moment(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def from_json(lease_id: str, raw: bytes | str | None) -> Lease | None:
    """The stored lease, or None if unknown or deleted."""
    if raw is None:
        return None
    data = orjson.loads(raw)
    if data.get("deleted"):
        return None
    return Lease(lease_id, data["p"], _moment(data["s"]), _moment(data["e"]), _moment(data["t"]),
                 data.get("u"), data.get("st"), data.get("n"))  # fmt: skip


def entry(lease_id: str, kind: Kind, lead: int) -> bytes:
    return orjson.dumps([lease_id, kind, lead])


def from_entry(raw: bytes | str) -> tuple[str, Kind, int]:
    lease_id, kind, lead = orjson.loads(raw)
    return str(lease_id), kind, int(lead)


class Schedule:
    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        key = Keys(prefix).reminders
        self.leases_key, self.tombstones_key = key("leases"), key("tombstones")
        self.due_key, self.inflight_key = key("due"), key("inflight")
        self.claimed_key, self.leads_key = key("claimed"), key("leads")
        self.project_prefix = key("project:")
        self._claim = client.register_script(_CLAIM)

    # --- leases -----------------------------------------------------------------------------

    def known(self, lease_id: str) -> tuple[float | None, Lease | None]:
        """The time of the newest event applied for the lease (deleted ones included), and
        the live lease, if any: one read."""
        raw = self.client.hget(self.leases_key, lease_id)
        if raw is None:
            return None, None
        return float(orjson.loads(raw)["t"]), from_json(lease_id, raw)

    def lease(self, lease_id: str) -> Lease | None:
        return from_json(lease_id, self.client.hget(self.leases_key, lease_id))

    def leases(self, lease_ids: list[str]) -> dict[str, Lease | None]:
        """Several leases in one round trip (the firer's batch)."""
        if not lease_ids:
            return {}
        raws = self.client.hmget(self.leases_key, lease_ids)
        return {i: from_json(i, raw) for i, raw in zip(lease_ids, raws, strict=True)}

    def put(self, lease: Lease, fires: dict[bytes, float], cancel: Iterable[bytes]) -> None:
        """Record the lease and its due entries in one transaction."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.leases_key, lease.lease_id, lease.to_json())
        pipe.sadd(self.project_prefix + lease.project_id, lease.lease_id)
        pipe.zrem(self.tombstones_key, lease.lease_id)
        if fires:
            pipe.zadd(self.due_key, fires)
        cancelled = list(cancel)
        if cancelled:
            pipe.zrem(self.due_key, *cancelled)
        pipe.execute()

    def forget(self, lease_id: str, project_id: str, time: datetime, entries: list[bytes]) -> None:
        """The lease is gone: its due entries go, a tombstone stays (see the module docstring)."""
        pipe = self.client.pipeline(transaction=True)
        tomb = orjson.dumps({"deleted": True, "t": time.timestamp()})
        pipe.hset(self.leases_key, lease_id, tomb)
        pipe.zadd(self.tombstones_key, {lease_id: time.timestamp()})
        pipe.srem(self.project_prefix + project_id, lease_id)
        if entries:
            pipe.zrem(self.due_key, *entries)
        pipe.execute()

    def prune_tombstones(self, before: datetime, limit: int = 1000) -> int:
        old = self.client.zrangebyscore(self.tombstones_key, "-inf", before.timestamp(), 0, limit)
        if old:
            pipe = self.client.pipeline(transaction=True)
            pipe.hdel(self.leases_key, *old)
            pipe.zrem(self.tombstones_key, *old)
            pipe.execute()
        return len(old)

    def project_leases(self, project_id: str | None) -> Iterable[Lease]:
        """Live leases of a project, or of every project (``None``), read in pages."""
        if project_id is None:
            for lease_id, raw in self.client.hscan_iter(self.leases_key, count=1000):
                lease = from_json(_text(lease_id), raw)
                if lease is not None:
                    yield lease
            return
        page: list[str] = []
        for lease_id in self.client.sscan_iter(self.project_prefix + project_id, count=1000):
            page.append(_text(lease_id))
            if len(page) >= 1000:
                yield from (lease for lease in self.leases(page).values() if lease is not None)
                page = []
        yield from (lease for lease in self.leases(page).values() if lease is not None)

    # --- lead times ---------------------------------------------------------------------------

    def known_leads(self) -> set[tuple[str, str, int]]:
        known: set[tuple[str, str, int]] = set()
        for raw in self.client.smembers(self.leads_key):
            project, kind, lead = orjson.loads(raw)
            known.add((str(project), str(kind), int(lead)))
        return known

    def add_lead(self, project: str, kind: Kind, lead: int, fires: dict[bytes, float]) -> None:
        """Fill the schedule for a new lead time (``fires`` only adds, never moves)."""
        pipe = self.client.pipeline(transaction=True)
        if fires:
            pipe.zadd(self.due_key, fires, nx=True)
        pipe.sadd(self.leads_key, orjson.dumps([project, kind, lead]))
        pipe.execute()

    # --- firing -------------------------------------------------------------------------------

    def claim(self, now: datetime, lapse: float, limit: int) -> list[tuple[bytes, float]]:
        """Up to ``limit`` due entries (lapsed claims first), each with its fire time."""
        keys = [self.due_key, self.inflight_key, self.claimed_key]
        flat = self._claim(keys=keys, args=[now.timestamp(), lapse, limit])
        return [(bytes(flat[i]), float(flat[i + 1])) for i in range(0, len(flat), 2)]

    def done(self, entries: list[bytes]) -> None:
        if entries:
            pipe = self.client.pipeline(transaction=True)
            pipe.zrem(self.inflight_key, *entries)
            pipe.hdel(self.claimed_key, *entries)
            pipe.execute()

    def counts(self) -> dict[str, int]:
        pipe = self.client.pipeline(transaction=False)
        for key in (self.due_key, self.inflight_key):
            pipe.zcard(key)
        pipe.hlen(self.leases_key)
        due, inflight, leases = pipe.execute()
        return {"due": int(due), "inflight": int(inflight), "leases": int(leases)}


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
