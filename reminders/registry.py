"""Who asked for which lead times, and what lease events say: the scheduler's pure side.

The registry files each subscription with reminders under (its project or ``*``, kind, lead).
The schedule holds one entry per lease and lead time of the lease's project; when an entry is
due, :meth:`Registry.recipients` picks the subscriptions that receive it, with the very matcher
the broker uses (tenant rule, types, lease id, filters) on the reminder's own attributes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.base import BaseCloudEvent

from blazar_events.eventtypes import TYPE_PREFIX
from blazar_events.matching import ADDRESS, Matcher, compile_subscription
from blazar_events.reminders import REMINDER_TYPE, Kind
from blazar_events.subscription import ALL_PROJECTS, Subscription
from reminders.schedule import Lease

Lead = tuple[Kind, int]
GONE_TYPES = frozenset({TYPE_PREFIX + "lease.delete", TYPE_PREFIX + "lease.event.end_lease"})


class Registry:
    """Thread-safe: the subscription follower writes, the consumer and the firer read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, tuple[Subscription, Matcher, frozenset[Lead]]] = {}
        self._by_project: dict[str, dict[Lead, set[str]]] = {}

    def __len__(self) -> int:
        return len(self._subs)

    def replace_all(self, subs: list[Subscription]) -> None:
        with self._lock:
            self._subs.clear()
            self._by_project.clear()
        for sub in subs:
            self.put(sub)

    def put(self, sub: Subscription) -> None:
        self.remove(sub.id)
        if sub.reminders is None or sub.status != "ACTIVE":
            return
        leads = frozenset(sub.reminders.leads())
        if not leads:
            return
        with self._lock:
            self._subs[sub.id] = (sub, compile_subscription(sub), leads)
            filed = self._by_project.setdefault(sub.project_id, {})
            for lead in leads:
                filed.setdefault(lead, set()).add(sub.id)

    def remove(self, sub_id: str) -> None:
        with self._lock:
            old = self._subs.pop(sub_id, None)
            if old is None:
                return
            filed = self._by_project.get(old[0].project_id, {})
            for lead in old[2]:
                members = filed.get(lead)
                if members is not None:
                    members.discard(sub_id)
                    if not members:
                        del filed[lead]
            if not filed:
                self._by_project.pop(old[0].project_id, None)

    def leads_for(self, project_id: str) -> set[Lead]:
        """Lead times some subscription may want for a lease of ``project_id``."""
        with self._lock:
            own = self._by_project.get(project_id, {})
            every = self._by_project.get(ALL_PROJECTS, {})
            return set(own) | set(every)

    def wanted(self) -> set[tuple[str, Kind, int]]:
        """Every (project or ``*``, kind, lead) asked for."""
        with self._lock:
            return {(p, k, n) for p, leads in self._by_project.items() for (k, n) in leads}

    def recipients(self, lease: Lease, kind: Kind, lead: int, fires_at: datetime) -> list[str]:
        """Ids of the subscriptions that receive this reminder.

        A subscription created after the moment the reminder fires does not get it: lead
        times already past when a subscription appears are not fired for it.
        """
        attributes = {"type": REMINDER_TYPE, "projectid": lease.project_id,
                      "leaseid": lease.lease_id, "subject": lease.lease_id}  # fmt: skip
        if lease.status:
            attributes["leasestatus"] = lease.status
        with self._lock:
            ids = set(self._by_project.get(lease.project_id, {}).get((kind, lead), ()))
            ids |= self._by_project.get(ALL_PROJECTS, {}).get((kind, lead), set())
            candidates = [self._subs[i] for i in sorted(ids) if i in self._subs]
        chosen = []
        for sub, match, _ in candidates:
            if sub.created_at > fires_at:
                continue
            try:
                if match({**attributes, ADDRESS: sub.id}):
                    chosen.append(sub.id)
            except Exception:  # a tenant's filter: it loses its own reminder, nobody else's
                continue
        return chosen


def from_event(event: BaseCloudEvent) -> tuple[str, Lease | None, str, datetime] | None:
    """What a lease event means for the schedule: ``(lease id, the lease or None if it is
    gone, project id, event time)``, or None for an event that is not a Blazar lease event.

    Raises ValueError for a lease event whose dates cannot be read.
    """
    attributes: Mapping[str, Any] = event.get_attributes()
    event_type = str(attributes.get("type", ""))
    # Addressed events (reminders, snapshots) are this system's own output, never input.
    if ADDRESS in attributes or not event_type.startswith(TYPE_PREFIX + "lease."):
        return None
    if event_type == REMINDER_TYPE:
        return None
    lease_id, project_id = attributes.get("leaseid"), attributes.get("projectid")
    if not isinstance(lease_id, str) or not isinstance(project_id, str):
        raise ValueError("a lease event without leaseid or projectid")
    time = attributes.get("time")
    if not isinstance(time, datetime):
        raise ValueError("a lease event without a time")
    if event_type in GONE_TYPES:
        return lease_id, None, project_id, time
    data = event.get_data()
    if not isinstance(data, dict):
        raise ValueError("a lease event whose data is not an object")
    lease = Lease(
        lease_id,
        project_id,
        to_date(data.get("start_date")),
        to_date(data.get("end_date")),
        time,
        _optional(data.get("user_id")),
        _optional(data.get("status")),
        _optional(data.get("name")),
    )
    return lease_id, lease, project_id, time


def to_date(value: Any) -> datetime:
    """A Blazar payload date (naive UTC, ``T`` or space) as an aware datetime."""
    if not isinstance(value, str):
        raise ValueError(f"a lease date is not a string: {value!r:.80}")
    try:
        parsed = datetime.fromisoformat(value.strip())
        moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00 has no UTC time
        raise ValueError(f"a lease date out of range: {value!r:.80}") from None
    # Within these years, a lead time (<= 366 days) is subtracted and a timestamp taken
    # without ever overflowing: a date from the bus cannot stop the consumer.
    if not 1971 <= moment.year <= 9000:
        raise ValueError(f"a lease date out of range: {value!r:.80}")
    return moment


def _optional(value: Any) -> str | None:
    return value[:255] if isinstance(value, str) and value else None
