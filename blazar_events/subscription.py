"""The subscription (docs/design.md, Contract 2) as pydantic models, and its signing keys.

:class:`SubscriptionInput` is what a client may send (unknown fields are refused;
:mod:`blazar_events.subscription_input`); :class:`Subscription` is the stored, realized
resource. Both are pure data: the store persists them, :mod:`blazar_events.matching` and
:mod:`blazar_events.triggers` read them.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from blazar_events.delivery_spec import DeliverySpec, ProtocolSettings, from_iso_duration
from blazar_events.reminders import Reminders
from blazar_events.signing_keys import SigningKeys, utcnow
from blazar_events.status_reasons import is_match_failure
from blazar_events.subscription_input import (
    ALL_PROJECTS,
    NotifyEndpoint,
    Status,
    SubscriptionInput,
    from_input,
    to_invalid_input,
)

Owner = Literal["api", "k8s"]

_id_lock = threading.Lock()
_id_clock = [0, 0]  # last millisecond, counter within it


def new_id() -> str:
    """A UUID whose text sorts by creation time (version 7 layout), so id order is age order.

    Within one millisecond a counter in the 12 ``rand_a`` bits keeps this process's ids in
    order (RFC 9562, method 1); across processes the order is by millisecond.
    """
    with _id_lock:
        millis = max(time.time_ns() // 1_000_000, _id_clock[0])
        if millis == _id_clock[0] and _id_clock[1] < 0xFFF:
            counter = _id_clock[1] + 1
        elif millis == _id_clock[0]:
            millis, counter = millis + 1, 0
        else:
            counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
        _id_clock[:] = [millis, counter]
    rand = int.from_bytes(os.urandom(8), "big") & (2**62 - 1)
    value = (millis & (2**48 - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return str(uuid.UUID(int=value))


_CLIENT_FIELDS = (
    "name", "description", "types", "filters", "lease_id", "sink",
    "protocol", "protocolsettings", "delivery", "dedicated_function", "reminders",
)  # fmt: skip


class Subscription(BaseModel):
    """The stored resource. ``version`` increases on every change (optimistic concurrency)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_id)
    name: str = ""
    description: str = ""
    types: list[str] = Field(default_factory=list)
    filters: list[dict[str, Any]] = Field(default_factory=list)
    lease_id: str | None = None
    project_id: str
    user_id: str | None = None
    sink: str
    protocol: Literal["HTTP"] = "HTTP"
    protocolsettings: ProtocolSettings = Field(default_factory=ProtocolSettings)
    delivery: DeliverySpec = Field(default_factory=DeliverySpec)
    dedicated_function: bool = False
    reminders: Reminders | None = None
    status: Status = "ACTIVE"
    status_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 1
    owner: Owner = "api"

    @classmethod
    def from_input(
        cls,
        spec: SubscriptionInput,
        *,
        project_id: str,
        user_id: str | None = None,
        owner: Owner = "api",
        id: str | None = None,
    ) -> Subscription:
        """A new subscription from a validated body (the API has settled ``project_id``)."""
        fields = spec.model_dump(
            exclude={"notify_endpoint", "version", "project_id", "status", "initial_state"}
        )
        extra: dict[str, Any] = {"id": id} if id else {}
        return cls(
            **fields,
            **extra,
            project_id=project_id,
            user_id=user_id,
            owner=owner,
            status=spec.status or "ACTIVE",
        )

    def replaced_by(self, spec: SubscriptionInput, *, project_id: str) -> Subscription:
        """This subscription with every client field taken from ``spec`` (PUT semantics)."""
        # model_copy does not validate: take attributes so nested models stay models.
        changes: dict[str, Any] = {name: getattr(spec, name) for name in _CLIENT_FIELDS}
        changes["project_id"] = project_id
        if spec.status is not None and spec.status != self.status:
            changes["status"] = spec.status
            changes["status_reason"] = None
        if changes["filters"] != self.filters and is_match_failure(self.status_reason):
            changes["status_reason"] = None  # said of the filters just replaced
        return self.model_copy(update=changes)

    def to_input(self) -> dict[str, Any]:
        """The client-writable fields, as a body (the base a PATCH merges onto)."""
        return self.model_dump(
            mode="json",
            include={
                "name", "description", "types", "filters", "lease_id", "project_id", "sink",
                "protocol", "protocolsettings", "delivery", "dedicated_function", "status",
                "reminders",
            },
        )  # fmt: skip


__all__ = [
    "ALL_PROJECTS",
    "DeliverySpec",
    "NotifyEndpoint",
    "ProtocolSettings",
    "SigningKeys",
    "Status",
    "Subscription",
    "SubscriptionInput",
    "from_input",
    "from_iso_duration",
    "new_id",
    "to_invalid_input",
    "utcnow",
]
