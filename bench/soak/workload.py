"""What the soak publishes and who subscribes to it, and the expected deliveries.

The expected set is computed here from the published notifications and each subscription's
definition, by plain Python written for the soak: it shares no code with the product's
matching (blazar_events.matching, blazar_events.filters, broker/index.py), so a bug there
shows up as a loss or an out-of-scope delivery instead of being repeated here.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PREFIX = "org.openstack.blazar."
# One lease's life as blazar-manager announces it, with the lease's status in each payload.
LIFE: tuple[tuple[str, str], ...] = (
    ("lease.create", "PENDING"),
    ("lease.update", "PENDING"),
    ("lease.event.start_lease", "ACTIVE"),
    ("lease.event.before_end_lease", "ACTIVE"),
    ("lease.event.end_lease", "TERMINATED"),
    ("lease.delete", "TERMINATED"),
)
# Three tenant projects with subscriptions, and one nobody but the cloud admin subscribes to.
PROJECTS = {
    "a": "50a4000000000000000000000000000a",
    "b": "50a4000000000000000000000000000b",
    "c": "50a4000000000000000000000000000c",
    "d": "50a4000000000000000000000000000d",
}
USER = "50a40000000000000000000000005e40"


@dataclass(frozen=True)
class Note:
    """One published notification, as the soak knows it (not as the product reports it)."""

    seq: int
    event_type: str  # oslo event_type, e.g. lease.event.start_lease
    project: str
    lease_id: str
    status: str

    @property
    def ce_type(self) -> str:
        return PREFIX + self.event_type


Predicate = Callable[[Note], bool]


@dataclass
class SubDef:
    """A subscription as the soak creates it, and the soak's own reading of what it matches."""

    name: str
    project: str  # a project id, or "*" (the cloud admin's, across projects)
    body: dict[str, Any]  # what is sent to the API (without sink)
    matches: Predicate
    lane: str = "broker"  # broker (standalone) or function (a Trigger calling the function)
    flaky: bool = False  # the sink fails 20 % of requests and is slow on 5 %
    ordered: bool = False
    # Set by the mid-run update: (new body changes, new predicate).
    update: tuple[dict[str, Any], Predicate] | None = None
    notes: list[str] = field(default_factory=list)

    def in_project(self, note: Note) -> bool:
        """The tenant rule: a project's subscription only ever sees its own leases."""
        return self.project == "*" or note.project == self.project


def _types(*short: str) -> Predicate:
    wanted = set(short)
    return lambda n: n.event_type in wanted


def subscriptions(lease_of_a: str) -> list[SubDef]:
    """The ten subscriptions: three projects, some filtered, one ordered, one lease-scoped,
    one flaky sink, one updated mid-run, one behind the function service."""
    a, b, c = PROJECTS["a"], PROJECTS["b"], PROJECTS["c"]
    active_not_before_end = {
        "all": [
            {"exact": {"leasestatus": "ACTIVE"}},
            {"not": {"suffix": {"type": "before_end_lease"}}},
        ]
    }
    return [
        SubDef("a-all", a, {}, lambda n: True),
        SubDef(
            "a-start", a, {"types": ["lease.event.start_lease"]},
            _types("lease.event.start_lease"),
            update=(
                {"types": ["lease.event.start_lease", "lease.event.before_end_lease"]},
                _types("lease.event.start_lease", "lease.event.before_end_lease"),
            ),
            notes=["updated mid-run: before_end_lease added"],
        ),
        SubDef("a-ordered", a, {"delivery": {"ordered": True}}, lambda n: True, ordered=True,
               notes=["ordered"]),
        SubDef("a-lease", a, {"lease_id": lease_of_a}, lambda n: n.lease_id == lease_of_a,
               notes=["one lease"]),
        SubDef("b-all", b, {}, lambda n: True, notes=["secret rotated mid-run"]),
        SubDef(
            "b-events", b,
            {"filters": [{"prefix": {"type": PREFIX + "lease.event."}}]},
            lambda n: n.event_type.startswith("lease.event."),
        ),
        SubDef("b-flaky", b, {}, lambda n: True, flaky=True,
               notes=["sink fails 20 %, slow 5 %"]),
        SubDef("c-all", c, {}, lambda n: True, notes=["sink down for a while"]),
        SubDef(
            "c-active", c, {"filters": [active_not_before_end]},
            lambda n: n.status == "ACTIVE" and not n.event_type.endswith("before_end_lease"),
        ),
        SubDef(
            "admin-ends", "*",
            {"types": ["lease.event.end_lease", "lease.delete"]},
            _types("lease.event.end_lease", "lease.delete"),
            lane="function", notes=["all projects, via the function service"],
        ),
    ]  # fmt: skip


class Leases:
    """A pool of leases per project, each walking through its life in order (seeded)."""

    def __init__(self, seed: int, per_project: int) -> None:
        self.rng = random.Random(seed)
        self.leases: list[tuple[str, str]] = []  # (project, lease id)
        for project in PROJECTS.values():
            for _ in range(per_project):
                self.leases.append((project, str(uuid.UUID(int=self.rng.getrandbits(128)))))
        self.step = {lease: self.rng.randrange(len(LIFE)) for _, lease in self.leases}

    def first_of(self, key: str) -> str:
        return next(lease for project, lease in self.leases if project == PROJECTS[key])

    def next_note(self, seq: int) -> Note:
        project, lease = self.rng.choice(self.leases)
        event_type, status = LIFE[self.step[lease] % len(LIFE)]
        self.step[lease] += 1
        return Note(seq, event_type, project, lease, status)


def to_payload(note: Note, run: str) -> dict[str, Any]:
    """A Blazar >= 17 lease payload; ``name`` carries the soak's sequence number."""
    return {
        "lease_id": note.lease_id,
        "user_id": USER,
        "project_id": note.project,
        "trust_id": uuid.uuid4().hex,  # Blazar sends it; the bridge must strip it
        "start_date": "2026-12-01T12:00:00.000000",
        "end_date": "2026-12-01T14:00:00.000000",
        "status": note.status,
        "reservations": [{"id": str(uuid.uuid4()), "lease_id": note.lease_id,
                          "resource_type": "physical:host", "status": "active",
                          "min": 1, "max": 1}],
        "events": [],
        "name": f"{run}-{note.seq}",
        "created_at": "2026-12-01 11:00:00",
        "updated_at": "2026-12-01 11:00:00",
        "degraded": False,
    }  # fmt: skip


def to_seq(name: object, run: str) -> int | None:
    """The sequence number back from a delivered payload's ``name`` (None: not ours)."""
    if not isinstance(name, str) or not name.startswith(run + "-"):
        return None
    tail = name[len(run) + 1 :]
    return int(tail) if tail.isdigit() else None
