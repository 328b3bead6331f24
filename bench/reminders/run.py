"""Schedule cost and memory of the reminder scheduler: 100,000 live leases x 3 lead times.

Against the local stack's Redis, in a key prefix of its own (removed afterwards):

1. baseline: the same number of plain ``ZADD``s of the same members, pipelined in batches of
   1,000 (what a bare sorted-set schedule costs on this machine, this minute);
2. the scheduler applying 100,000 ``lease.create`` events (``Scheduler.apply``: read the
   lease's last time and old dates, one transaction writing the lease, its project set and
   its 3 due entries), reported as events/s and as a ratio to the baseline's entries/s;
3. Redis memory added by the schedule (``INFO memory`` before/after, and ``MEMORY USAGE`` of
   each key);
4. firing: 300,000 entries made due at once, claimed and turned into reminders (one
   subscription per lead time) with Kafka stood in for by a counter, reminders/s.

Run: ``.venv/bin/python -u bench/reminders/run.py [--leases 100000] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from cloudevents.core.v1.event import CloudEvent

from blazar_events.records import KafkaRecord
from blazar_events.subscription import Subscription
from reminders.registry import Registry
from reminders.schedule import Schedule, entry
from reminders.scheduler import Scheduler

REDIS_URL = os.environ.get("BLAZAR_EVENTS_REDIS_URL", "redis://127.0.0.1:6380/0")
LEADS = ["P1D", "PT1H", "PT10M"]
PROJECTS = 100


class Counter:
    def __init__(self) -> None:
        self.sent = 0

    def send_all(self, records: list[KafkaRecord]) -> None:
        self.sent += len(records)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def events(count: int, now: datetime) -> list[CloudEvent]:
    result = []
    for i in range(count):
        lease, project = str(uuid.uuid4()), f"project-{i % PROJECTS}"
        end = now + timedelta(days=2, seconds=i)
        data = {"lease_id": lease, "project_id": project, "user_id": "u", "status": "PENDING",
                "start_date": (now + timedelta(hours=1)).replace(tzinfo=None).isoformat(),
                "end_date": end.replace(tzinfo=None).isoformat(), "name": f"lease-{i}"}  # fmt: skip
        attributes = {"id": str(i), "source": "/bench", "specversion": "1.0", "time": now,
                      "type": "org.openstack.blazar.lease.create", "projectid": project,
                      "leaseid": lease}  # fmt: skip
        result.append(CloudEvent(attributes, data))
    return result


def used_memory(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def clear(client: Any, prefix: str) -> None:
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)


def baseline(client: Any, prefix: str, evs: list[CloudEvent]) -> float:
    key = f"{prefix}:baseline"
    start = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for n, ev in enumerate(evs, 1):
        for i in range(len(LEADS)):
            pipe.zadd(key, {entry(str(ev.get_extension("leaseid")), "before_end", i): n})
        if n % 1000 == 0:
            pipe.execute()
    pipe.execute()
    elapsed = time.perf_counter() - start
    client.delete(key)
    return len(evs) * len(LEADS) / elapsed


def one_round(client: Any, count: int) -> dict[str, float]:
    prefix = f"bench-reminders-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    evs = events(count, now)
    base = baseline(client, prefix, evs)
    registry = Registry()
    subs = [Subscription(project_id="*", sink="https://x.example.org/",
                         reminders={"before_end": [lead]}, created_at=now - timedelta(days=1))
            for lead in LEADS]  # fmt: skip
    registry.replace_all(subs)
    kafka, clock = Counter(), Clock(now)
    scheduler = Scheduler(Schedule(client, prefix), registry, kafka, "/bench", batch=1000,
                          clock=clock)  # fmt: skip
    before = used_memory(client)
    start = time.perf_counter()
    for ev in evs:
        scheduler.apply(ev)
    apply_s = time.perf_counter() - start
    added = used_memory(client) - before
    schedule = scheduler.schedule
    keys = [schedule.due_key, schedule.leases_key]
    by_key = {k.rsplit(":", 1)[1]: int(client.memory_usage(k) or 0) for k in keys}
    counts = schedule.counts()
    clock.now = now + timedelta(days=5)  # everything due at once (the last end is +3.2 days)
    start = time.perf_counter()
    while scheduler.fire():
        pass
    fire_s = time.perf_counter() - start
    print(f"outcomes: {dict(scheduler.outcomes)}; left {schedule.counts()}", flush=True)
    clear(client, prefix)
    return {
        "baseline_entries_per_s": base,
        "events_per_s": count / apply_s,
        "entries_per_s": counts["due"] / apply_s,
        "ratio": (counts["due"] / apply_s) / base,
        "due": counts["due"],
        "memory_mb": added / 1e6,
        "bytes_per_entry": added / counts["due"],
        "due_mb": by_key["due"] / 1e6,
        "leases_mb": by_key["leases"] / 1e6,
        "reminders_per_s": kafka.sent / fire_s,
        "sent": kafka.sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leases", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    client = redis.Redis.from_url(REDIS_URL)
    print(f"load average {os.getloadavg()}; {args.leases} leases x {len(LEADS)} lead times")
    rounds = []
    for n in range(args.rounds):
        result = one_round(client, args.leases)
        rounds.append(result)
        print(f"round {n + 1}: " + ", ".join(f"{k} {v:,.2f}" for k, v in result.items()),
              flush=True)  # fmt: skip
    print("median: " + ", ".join(
        f"{k} {statistics.median(r[k] for r in rounds):,.2f}" for k in rounds[0]))  # fmt: skip
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
