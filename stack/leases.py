"""Leases on the local Blazar, made through its REST API as its tenant.

What ``openstack reservation lease create|set|delete`` sends, without the client's start-up
cost; the demo and the end-to-end tests use it, and ``create_command`` prints the same lease
as a command line a user can run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from stack.errors import StackError
from stack.identity import Account
from stack.layout import BLAZAR_URL

# Blazar's dates have minute precision: "2026-11-30 18:11".
DATE_FORMAT = "%Y-%m-%d %H:%M"
# The no-op plugin of the stack reserves this resource type (and nothing for real).
RESERVATION = {"resource_type": "virtual:instance", "amount": 1, "vcpus": 1, "memory_mb": 512,
               "disk_gb": 1, "affinity": False, "resource_properties": ""}  # fmt: skip


def next_minute(after: timedelta) -> datetime:
    """The first whole minute at least ``after`` from now (UTC, naive as Blazar takes it)."""
    moment = datetime.now(UTC).replace(tzinfo=None) + after
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def create_command(openstack: str, name: str, start: datetime, end: datetime) -> str:
    reservation = ",".join(f"{key}={value}" for key, value in RESERVATION.items() if value != "")
    return (
        f"{openstack} reservation lease create --reservation {reservation} "
        f"--start-date '{start:{DATE_FORMAT}}' --end-date '{end:{DATE_FORMAT}}' {name}"
    )


class Leases:
    def __init__(self, account: Account, timeout: float = 180.0) -> None:
        # A lease's creation takes a trust and an RPC round trip to the manager: seconds,
        # far more on a loaded machine.
        self.client = httpx.Client(
            base_url=f"{BLAZAR_URL}/v1",
            headers={"X-Auth-Token": account.token(), "Accept": "application/json"},
            timeout=timeout,
        )

    def close(self) -> None:
        self.client.close()

    def _lease(self, answer: httpx.Response, *ok: int) -> dict[str, Any]:
        if answer.status_code not in ok:
            raise StackError(f"Blazar answered {answer.status_code}: {answer.text[:500]}")
        lease: dict[str, Any] = answer.json()["lease"]
        return lease

    def create(self, name: str, start: datetime, end: datetime) -> dict[str, Any]:
        body = {"name": name, "start_date": f"{start:{DATE_FORMAT}}",
                "end_date": f"{end:{DATE_FORMAT}}", "reservations": [RESERVATION],
                "events": []}  # fmt: skip
        return self._lease(self.client.post("/leases", json=body), 200, 201)

    def get(self, lease_id: str) -> dict[str, Any]:
        return self._lease(self.client.get(f"/leases/{lease_id}"), 200)

    def prolong(self, lease_id: str, by: timedelta) -> dict[str, Any]:
        """``openstack reservation lease set --prolong-for``: Blazar's API knows no such
        field; the client reads the lease and sends the end date moved by ``by``."""
        end = datetime.strptime(self.get(lease_id)["end_date"], "%Y-%m-%dT%H:%M:%S.%f")
        body = {"end_date": f"{end + by:{DATE_FORMAT}}"}
        return self._lease(self.client.put(f"/leases/{lease_id}", json=body), 200)

    def delete(self, lease_id: str) -> None:
        answer = self.client.delete(f"/leases/{lease_id}")
        if answer.status_code not in (200, 204):
            raise StackError(f"Blazar answered {answer.status_code}: {answer.text[:500]}")
