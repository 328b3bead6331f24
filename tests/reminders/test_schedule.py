"""The durable schedule against real Redis: leases, tombstones, lead times and claims."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from reminders.schedule import Lease, Schedule, entry, from_entry

T0 = datetime(2026, 7, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def schedule(redis_url: str, redis_prefix: str) -> Iterator[Schedule]:
    client = redis.Redis.from_url(redis_url)
    yield Schedule(client, redis_prefix)
    client.close()


def lease(lease_id: str = "lease-1", project: str = "p-a", at: datetime = T0) -> Lease:
    return Lease(lease_id, project, T0 + timedelta(hours=1), T0 + timedelta(days=1), at,
                 "u", "ACTIVE", "name")  # fmt: skip


def test_a_lease_is_stored_and_read_back_whole(schedule: Schedule) -> None:
    schedule.put(lease(), {}, [])
    assert schedule.lease("lease-1") == lease()
    assert schedule.known("lease-1") == (T0.timestamp(), lease())
    assert schedule.leases(["lease-1", "other"]) == {"lease-1": lease(), "other": None}
    assert list(schedule.project_leases("p-a")) == [lease()]
    assert list(schedule.project_leases(None)) == [lease()]
    assert list(schedule.project_leases("p-b")) == []


def test_a_forgotten_lease_leaves_a_tombstone_with_its_time_until_pruned(
    schedule: Schedule,
) -> None:
    due = entry("lease-1", "before_end", 3600)
    schedule.put(lease(), {due: T0.timestamp()}, [])
    gone = T0 + timedelta(minutes=5)
    schedule.forget("lease-1", "p-a", gone, [due])
    assert schedule.known("lease-1") == (gone.timestamp(), None)
    assert list(schedule.project_leases("p-a")) == []
    assert schedule.claim(T0 + timedelta(days=2), 30, 10) == []
    assert schedule.prune_tombstones(gone - timedelta(seconds=1)) == 0
    assert schedule.prune_tombstones(gone) == 1
    assert schedule.known("lease-1") == (None, None)


def test_due_entries_are_claimed_once_and_a_lapsed_claim_again(schedule: Schedule) -> None:
    first, later = entry("lease-1", "before_end", 3600), entry("lease-1", "before_start", 60)
    schedule.put(lease(), {first: T0.timestamp(), later: (T0 + timedelta(hours=1)).timestamp()}, [])
    assert schedule.claim(T0 - timedelta(seconds=1), 30, 10) == []
    assert schedule.claim(T0, 30, 10) == [(first, T0.timestamp())]
    assert schedule.claim(T0 + timedelta(seconds=10), 30, 10) == []  # the claim holds
    assert schedule.counts() == {"due": 1, "inflight": 1, "leases": 1}
    # Its holder died: after the lapse the entry comes back, with the time it was due.
    assert schedule.claim(T0 + timedelta(seconds=31), 30, 10) == [(first, T0.timestamp())]
    schedule.done([first])
    assert schedule.claim(T0 + timedelta(seconds=100), 30, 10) == []
    assert schedule.counts() == {"due": 1, "inflight": 0, "leases": 1}


def test_a_claim_takes_at_most_its_limit(schedule: Schedule) -> None:
    fires = {entry(f"lease-{i}", "before_end", 60): T0.timestamp() for i in range(5)}
    schedule.put(lease(), fires, [])
    assert len(schedule.claim(T0, 30, 2)) == 2
    assert len(schedule.claim(T0, 30, 10)) == 3


def test_a_moved_lease_cancels_its_old_entries(schedule: Schedule) -> None:
    old, new = entry("lease-1", "before_end", 60), entry("lease-1", "before_end", 120)
    schedule.put(lease(), {old: T0.timestamp()}, [])
    schedule.put(lease(at=T0 + timedelta(minutes=1)), {new: T0.timestamp()}, [old])
    assert schedule.claim(T0, 30, 10) == [(new, T0.timestamp())]


def test_a_new_lead_time_only_adds_entries_and_is_remembered(schedule: Schedule) -> None:
    due = entry("lease-1", "before_end", 3600)
    schedule.put(lease(), {due: T0.timestamp()}, [])
    schedule.add_lead("p-a", "before_end", 3600, {due: (T0 + timedelta(days=9)).timestamp()})
    assert schedule.known_leads() == {("p-a", "before_end", 3600)}
    assert schedule.claim(T0, 30, 10) == [(due, T0.timestamp())]


def test_an_entry_round_trips() -> None:
    assert from_entry(entry("lease-1", "before_start", 900)) == ("lease-1", "before_start", 900)
