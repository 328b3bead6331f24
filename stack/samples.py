"""Sample Blazar notifications for ``blazar-events run``: one lease's life, plus a lease of
another project (which the demo subscriber must never see).

Shaped like blazar-manager's (Blazar >= 17 payload: ``trust_id`` included, as Blazar sends
it; the bridge strips it).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

DEMO_PROJECT = "d3m0c0ffee0000000000000000000001"
OTHER_PROJECT = "0the40000000000000000000000000002"
DEMO_USER = "d3m0u5e40000000000000000000000001"

LIFE = ("lease.create", "lease.event.start_lease", "lease.event.before_end_lease",
        "lease.event.end_lease")  # fmt: skip


def _lease(project: str, name: str, status: str) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    end = start + timedelta(hours=2)
    lease_id = str(uuid.uuid4())
    stamp = start.strftime("%Y-%m-%d %H:%M:%S")
    return {
        "lease_id": lease_id,
        "user_id": DEMO_USER,
        "project_id": project,
        "trust_id": uuid.uuid4().hex,  # a credential: it must never reach a subscriber
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%S.000000"),
        "end_date": end.strftime("%Y-%m-%dT%H:%M:%S.000000"),
        "status": status,
        "reservations": [{
            "id": str(uuid.uuid4()), "lease_id": lease_id, "resource_type": "physical:host",
            "status": "active", "min": 1, "max": 1,
        }],
        "events": [],
        "name": name,
        "created_at": stamp,
        "updated_at": stamp,
        "degraded": False,
    }  # fmt: skip


def notifications() -> list[tuple[str, dict[str, Any]]]:
    """``(event_type, payload)`` in the order Blazar would send them."""
    statuses = {
        "lease.create": "PENDING",
        "lease.event.start_lease": "ACTIVE",
        "lease.event.before_end_lease": "ACTIVE",
        "lease.event.end_lease": "TERMINATED",
    }
    lease = _lease(DEMO_PROJECT, "demo-gpu-lease", "PENDING")
    result = [(event, {**lease, "status": statuses[event]}) for event in LIFE]
    other = _lease(OTHER_PROJECT, "someone-elses-lease", "ACTIVE")
    result.insert(2, ("lease.event.start_lease", other))
    return result
