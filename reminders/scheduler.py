"""The scheduler's three jobs, each a method a supervised thread calls (see ``service``):

* :meth:`Scheduler.apply` — a lease event moves, adds or cancels the lease's due entries;
* :meth:`Scheduler.sync_leads` — a lead time newly asked for in a project is scheduled for
  that project's live leases (only fire times still ahead);
* :meth:`Scheduler.fire` — due entries are claimed, and each becomes one addressed reminder
  per subscription that asked, written to the events topic; only once Kafka has them are
  the entries recorded as done.

What "not fired for lead times already past" means here: a new lease, a new lead time or a
moved date only ever schedules fire times still ahead. An entry scheduled in time but due while
the scheduler was down fires late on its restart: it was promised before it was due.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from cloudevents.core.base import BaseCloudEvent

from blazar_events.records import KafkaRecord, to_record
from blazar_events.reminders import KINDS, Kind, to_reminder
from blazar_events.subscription import ALL_PROJECTS
from reminders.registry import Registry, from_event
from reminders.schedule import Lease, Schedule, entry, from_entry

log = logging.getLogger(__name__)


class Sender(Protocol):
    """Writes records to the events topic; returns only once Kafka acknowledged them all."""

    def send_all(self, records: list[KafkaRecord]) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    def __init__(
        self,
        schedule: Schedule,
        registry: Registry,
        sender: Sender,
        source: str,
        *,
        lapse: float = 60.0,
        batch: int = 500,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.schedule = schedule
        self.registry = registry
        self.sender = sender
        self.source = source
        self.lapse = lapse
        self.batch = batch
        self.clock = clock
        self.outcomes: Counter[str] = Counter()

    # --- lease events -----------------------------------------------------------------------

    def apply(self, event: BaseCloudEvent) -> str:
        """One record from the events topic; returns its outcome (never raises ValueError)."""
        try:
            meaning = from_event(event)
        except ValueError as exc:
            log.warning("lease event %s refused: %s", event.get_id(), exc)
            return self._count("invalid")
        if meaning is None:
            return self._count("ignored")
        lease_id, lease, project_id, time = meaning
        last, old = self.schedule.known(lease_id)
        if last is not None and time.timestamp() < last:
            return self._count("stale")  # an older event replayed after a newer one
        leads = self.registry.leads_for(project_id)
        if lease is None:
            entries = [entry(lease_id, k, n) for k, n in leads | _all_leads(leads)]
            self.schedule.forget(lease_id, project_id, time, entries)
            return self._count("gone")
        now = self.clock()
        fires: dict[bytes, float] = {}
        cancel: list[bytes] = []
        for kind, lead in leads:
            target = lease.target(kind)
            if old is not None and old.target(kind) == target:
                continue  # unchanged: keep what is there, even if due and not yet fired
            fire = target - timedelta(seconds=lead)
            if fire > now:
                fires[entry(lease_id, kind, lead)] = fire.timestamp()
            else:
                cancel.append(entry(lease_id, kind, lead))
        self.schedule.put(lease, fires, cancel)
        return self._count("scheduled" if old is None else "updated")

    def _count(self, outcome: str) -> str:
        self.outcomes[outcome] += 1
        return outcome

    # --- lead times ---------------------------------------------------------------------------

    def sync_leads(self) -> int:
        """Schedule every lead time asked for and not yet filled in; returns entries added."""
        added = 0
        for project, kind, lead in self.registry.wanted() - self.schedule.known_leads():
            now = self.clock()
            fires: dict[bytes, float] = {}
            scope = None if project == ALL_PROJECTS else project
            for lease in self.schedule.project_leases(scope):
                fire = lease.target(kind) - timedelta(seconds=lead)
                if fire > now:
                    fires[entry(lease.lease_id, kind, lead)] = fire.timestamp()
                if len(fires) >= 10_000:
                    self.schedule.add_lead(project, kind, lead, fires)
                    added, fires = added + len(fires), {}
            self.schedule.add_lead(project, kind, lead, fires)
            added += len(fires)
        return added

    # --- firing -------------------------------------------------------------------------------

    def fire(self) -> int:
        """Claim due entries and send their reminders; returns the number of entries claimed."""
        claimed = self.schedule.claim(self.clock(), self.lapse, self.batch)
        if not claimed:
            return 0
        records: list[KafkaRecord] = []
        leases = self.schedule.leases(sorted({_lease_of(raw) for raw, _ in claimed}))
        for raw, fire_at in claimed:
            try:
                records.extend(self._reminders(raw, fire_at, leases))
            except Exception as exc:  # one entry's trouble is its own: recorded and dropped
                log.error("schedule entry %r dropped: %s: %s", raw[:200], type(exc).__name__, exc)
                self._count("entry-failed")
        # Kafka first, then the claims: a death in between repeats these reminders, ids intact.
        self.sender.send_all(records)
        self.schedule.done([raw for raw, _ in claimed])
        self.outcomes["reminders-sent"] += len(records)
        return len(claimed)

    def _reminders(
        self, raw: bytes, fire_at: float, leases: dict[str, Lease | None]
    ) -> list[KafkaRecord]:
        lease_id, kind, lead = from_entry(raw)
        lease = leases.get(lease_id)
        if lease is None:
            self._count("lease-gone")
            return []
        fires = lease.target(kind) - timedelta(seconds=lead)
        if abs(fires.timestamp() - fire_at) > 0.001:
            self._count("moved")  # the dates changed since: the entry's new time is in `due`
            return []
        ids = self.registry.recipients(lease, kind, lead, fires)
        return [self._record(sub_id, lease, kind, lead) for sub_id in ids]

    def _record(self, sub_id: str, lease: Lease, kind: Kind, lead: int) -> KafkaRecord:
        event = to_reminder(
            subscription_id=sub_id, lease=lease.to_dict(), kind=kind, lead=lead, source=self.source
        )
        return to_record(event)


def _lease_of(raw: bytes) -> str:
    try:
        return from_entry(raw)[0]
    except Exception:  # a damaged entry: _reminders reports it
        return ""


def _all_leads(leads: set[tuple[Kind, int]]) -> set[tuple[Kind, int]]:
    """A gone lease's entries in every kind, for each lead number seen (cheap, and covers a
    lead filed under one kind only)."""
    return {(kind, lead) for _, lead in leads for kind in KINDS}
