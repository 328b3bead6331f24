"""The subscription (docs/design.md, Contract 2) as pydantic models, and its signing keys.

:class:`SubscriptionInput` is what a client may send (unknown fields are refused);
:class:`Subscription` is the stored, realized resource. Both are pure data: the store persists
them, :mod:`blazar_events.matching` and :mod:`blazar_events.triggers` read them.
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
import time
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from blazar_events import egress, eventtypes
from blazar_events.delivery_spec import DeliverySpec, JsonInt, ProtocolSettings, from_iso_duration
from blazar_events.errors import BlazarEventsError, InvalidFilter, InvalidInput
from blazar_events.filters import from_expression
from blazar_events.reminders import REMINDER_TYPE, Reminders
from blazar_events.signing_keys import SigningKeys, utcnow

ALL_PROJECTS = "*"
Status = Literal["ACTIVE", "DISABLED"]
Owner = Literal["api", "k8s"]

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")


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


class NotifyEndpoint(BaseModel):
    """The original proposal's endpoint form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ip_address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: JsonInt = Field(ge=1, le=65535)

    def to_sink(self) -> str:
        host = f"[{self.ip_address}]" if self.ip_address.version == 6 else str(self.ip_address)
        return f"http://{host}:{self.port}/"


class SubscriptionInput(BaseModel):
    """The body of create, replace and (after merging) patch."""

    # The document says what the validator below enforces: exactly one of the two sink forms.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["sink"], "properties": {"sink": {"type": "string"}}},
                {
                    "required": ["notify_endpoint"],
                    "properties": {"notify_endpoint": {"type": "object"}},
                },
            ]
        },
    )

    name: str = Field(default="", max_length=255)
    description: str = Field(default="", max_length=1024)
    types: list[str] = Field(default_factory=list, max_length=64)
    filters: list[dict[str, Any]] = Field(default_factory=list, max_length=32)
    lease_id: str | None = Field(default=None, description="only events of this lease")
    project_id: str | None = Field(
        default=None, description="whose leases; default the caller's; '*' (all) for admins only"
    )
    sink: str | None = Field(
        default=None,
        description="endpoint URL (http or https)",
        examples=["https://hooks.example.org/blazar"],
    )
    notify_endpoint: NotifyEndpoint | None = Field(
        default=None, description="alternative to sink: {ip_address, port} -> http://ip:port/"
    )
    protocol: Literal["HTTP"] = "HTTP"
    protocolsettings: ProtocolSettings = Field(default_factory=ProtocolSettings)
    delivery: DeliverySpec = Field(default_factory=DeliverySpec)
    dedicated_function: bool = Field(
        default=False,
        description="Knative mode: deliver through a function instance of its own (own pods, "
        "own autoscaling); the standalone broker already gives each subscriber its own lane",
    )
    reminders: Reminders | None = Field(
        default=None,
        description="reminders at lead times of your choosing before each matching lease's end "
        "or start (events of type org.openstack.blazar.lease.reminder)",
    )
    status: Status | None = Field(
        default=None, description="ACTIVE or DISABLED; unchanged if absent"
    )
    initial_state: bool = Field(
        default=False,
        description="on create: send one org.openstack.blazar.lease.snapshot event per live "
        "lease this subscription sees (POST .../snapshot asks again); not stored",
    )
    version: JsonInt | None = Field(default=None, description="expected version (like If-Match)")

    @field_validator("types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        normalized: list[str] = []
        for item in value:
            full = eventtypes.normalize_type(item)
            if full not in normalized:
                normalized.append(full)
        return normalized

    @field_validator("filters")
    @classmethod
    def _filters(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, expression in enumerate(value):
            try:
                from_expression(expression)
            except InvalidFilter as exc:  # name the item: filters[2]: ...
                raise InvalidFilter(f"filters[{index}]: {exc.message}") from None
        return value

    @field_validator("lease_id", "project_id")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and value != ALL_PROJECTS and not _IDENTIFIER.match(value):
            raise ValueError(f"{value!r} is not an OpenStack id")
        return value

    @model_validator(mode="after")
    def _reminders_wanted(self) -> SubscriptionInput:
        # A reminder is routed like any event: types that leave it out would drop it silently.
        if self.reminders is not None and self.types and REMINDER_TYPE not in self.types:
            raise ValueError(
                f"reminders: types must include {REMINDER_TYPE} (or be empty) to receive them"
            )
        return self

    @model_validator(mode="after")
    def _one_sink(self) -> SubscriptionInput:
        if self.notify_endpoint is not None:
            if self.sink is not None:
                raise ValueError("give either sink or notify_endpoint, not both")
            self.sink = self.notify_endpoint.to_sink()
            self.notify_endpoint = None
        if self.sink is None:
            raise ValueError("sink (or notify_endpoint) is required")
        egress.check_url(self.sink)
        return self

    def warnings(self) -> list[str]:
        """What the client should know but is not an error (types Blazar does not emit yet)."""
        return [
            f"types: {t!r} is not a type Blazar emits today; accepted in case it adds it"
            for t in self.types
            if not eventtypes.is_known(t)
        ]


def from_input(data: Any) -> SubscriptionInput:
    """Validate a client body; InvalidInput (or InvalidFilter/SinkRefused) names the field."""
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object")
    try:
        return SubscriptionInput.model_validate(data)
    except ValidationError as exc:
        raise to_invalid_input(exc) from None


def to_invalid_input(exc: ValidationError) -> BlazarEventsError:
    """One readable error from pydantic's list, keeping our own error class if we raised it."""
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, BlazarEventsError):
            where = ".".join(str(part) for part in error["loc"])
            if not where or cause.message.startswith(str(error["loc"][0])):
                return cause  # no field, or the message already names it
            return type(cause)(f"{where}: {cause.message}", **cause.details)
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append(f"{where}: {message}")
    return InvalidInput("; ".join(problems))


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
