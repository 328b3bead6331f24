"""Reminders at lead times a subscriber chooses: the subscription's field and the event; pure.

A subscription asks for ``{"before_end": ["P1D", "PT1H"], "before_start": ["PT15M"]}``; the
reminder scheduler (``reminders/``) emits one ``org.openstack.blazar.lease.reminder`` event per
(subscription, lease, lead time), addressed to the subscription (the ``subscriptionid``
extension, :data:`blazar_events.matching.ADDRESS`), so that both modes route it with no
change: the standalone broker and a Knative Trigger let it reach that subscription only.

The event id is a UUID derived from the subscription, the lease, the lead time and the date it
counts back from: a reminder fired twice (a scheduler killed after sending, before recording
it) carries the same id both times, and subscribers already dedupe on ``webhook-id`` (= the
event id). A lease whose end moves gets a new reminder with a new id.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel, ConfigDict, Field, field_validator

from blazar_events.delivery_spec import from_iso_duration
from blazar_events.eventtypes import OWN_EVENTS, TYPE_PREFIX

Kind = Literal["before_end", "before_start"]
KINDS: Final[tuple[Kind, ...]] = ("before_end", "before_start")
REMINDER_TYPE: Final = TYPE_PREFIX + "lease.reminder"
MAX_LEADS: Final = 5
"""Lead times per kind and subscription: each distinct lead time in a project adds one schedule
entry per lease of the project, so this (with the subscription quota) bounds what one tenant
adds to the schedule."""
MIN_LEAD: Final = timedelta(seconds=1)
MAX_LEAD: Final = timedelta(days=366)
Lead = Annotated[str, Field(max_length=32)]
_NAMESPACE: Final = uuid.UUID("6f1b3c2e-9a47-5d1e-8c3b-7e0d2f4a9b10")


def to_seconds(text: str) -> int:
    """Whole seconds of a lead time; ValueError (a message naming the value) if out of bounds."""
    seconds = from_iso_duration(text)
    if seconds != int(seconds):
        raise ValueError(f"{text!r} is not a whole number of seconds")
    if not MIN_LEAD.total_seconds() <= seconds <= MAX_LEAD.total_seconds():
        raise ValueError(f"{text!r} is outside the bounds {_iso(MIN_LEAD)}..{_iso(MAX_LEAD)}")
    return int(seconds)


def _iso(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"P{seconds // 86400}D" if seconds % 86400 == 0 else f"PT{seconds}S"


class Reminders(BaseModel):
    """Lead times before a lease's end and start (ISO 8601 durations, days and smaller)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    before_end: list[Lead] = Field(
        default_factory=list,
        max_length=MAX_LEADS,
        description=f"lead times before the lease's end, e.g. P1D, PT1H (at most {MAX_LEADS}, "
        "PT1S to P366D)",
        examples=[["P1D", "PT1H", "PT10M"]],
    )
    before_start: list[Lead] = Field(
        default_factory=list,
        max_length=MAX_LEADS,
        description=f"lead times before the lease's start (at most {MAX_LEADS}, PT1S to P366D)",
        examples=[["PT15M"]],
    )

    @field_validator("before_end", "before_start")
    @classmethod
    def _leads(cls, value: list[str]) -> list[str]:
        kept: dict[int, str] = {}
        for index, text in enumerate(value):
            try:
                seconds = to_seconds(text)
            except ValueError as exc:
                raise ValueError(f"[{index}]: {exc}") from None
            kept.setdefault(seconds, text)
        return [kept[s] for s in sorted(kept, reverse=True)]  # longest lead first, no repeats

    def leads(self) -> list[tuple[Kind, int]]:
        """Every (kind, lead in seconds) this asks for."""
        result: list[tuple[Kind, int]] = [("before_end", to_seconds(t)) for t in self.before_end]
        result.extend(("before_start", to_seconds(t)) for t in self.before_start)
        return result


def reminder_id(
    subscription_id: str, lease_id: str, kind: Kind, lead: int, target: datetime
) -> str:
    """The event id of one reminder: the same inputs, the same id (see the module docstring)."""
    name = f"{subscription_id}/{lease_id}/{kind}/{lead}/{target.isoformat()}"
    return str(uuid.uuid5(_NAMESPACE, name))


def to_naive_text(moment: datetime) -> str:
    """A date as Blazar writes it in payloads: naive UTC with microseconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def to_reminder(
    *,
    subscription_id: str,
    lease: dict[str, Any],
    kind: Kind,
    lead: int,
    source: str,
) -> CloudEvent:
    """The reminder for one subscription. ``lease``: ``lease_id``, ``project_id``, aware
    ``start``/``end``, and optionally ``user_id``, ``status``, ``name``."""
    start, end = lease["start"], lease["end"]
    target = end if kind == "before_end" else start
    fires_at = target - timedelta(seconds=lead)
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": reminder_id(subscription_id, lease["lease_id"], kind, lead, target),
        "source": source,
        "type": REMINDER_TYPE,
        "subject": lease["lease_id"],
        "time": fires_at,
        "datacontenttype": "application/json",
        "projectid": lease["project_id"],
        "leaseid": lease["lease_id"],
        "partitionkey": lease["lease_id"],
        "subscriptionid": subscription_id,
    }
    for extension, key in (("userid", "user_id"), ("leasestatus", "status")):
        if lease.get(key):
            attributes[extension] = lease[key]
    data = {
        "subscription_id": subscription_id,
        "lease_id": lease["lease_id"],
        "project_id": lease["project_id"],
        "name": lease.get("name"),
        "status": lease.get("status"),
        "kind": kind,
        "lead_time": f"PT{lead}S",
        "lead_seconds": lead,
        "fires_at": to_naive_text(fires_at),
        "start_date": to_naive_text(start),
        "end_date": to_naive_text(end),
    }
    return CloudEvent(attributes, data)


_DATE = {"type": "string", "description": "naive UTC, e.g. 2026-07-10T12:00:00.000000"}
REMINDER_PAYLOAD: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A reminder at a lead time the subscription asked for (never from Blazar)",
    "type": "object",
    "required": [
        "subscription_id",
        "lease_id",
        "project_id",
        "kind",
        "lead_time",
        "lead_seconds",
        "fires_at",
        "start_date",
        "end_date",
    ],
    "properties": {
        "subscription_id": {"type": "string"},
        "lease_id": {"type": "string"},
        "project_id": {"type": "string"},
        "name": {"type": ["string", "null"]},
        "status": {"type": ["string", "null"], "description": "the lease's last known status"},
        "kind": {"enum": list(KINDS)},
        "lead_time": {"type": "string", "description": "ISO 8601, in seconds: PT3600S"},
        "lead_seconds": {"type": "integer", "minimum": 1},
        "fires_at": {**_DATE, "description": "the date minus the lead time (naive UTC)"},
        "start_date": {**_DATE, "description": "the lease's start when the reminder fired"},
        "end_date": {**_DATE, "description": "the lease's end when the reminder fired"},
    },
}

OWN_EVENTS[REMINDER_TYPE] = (
    "a reminder at a lead time the subscription chose (reminders.before_end/before_start), "
    "sent to that subscription only; never from Blazar",
    REMINDER_PAYLOAD,
)
