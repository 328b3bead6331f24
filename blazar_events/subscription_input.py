"""What a client may send for a subscription (docs/design.md, Contract 2): the body
:class:`SubscriptionInput` validates (unknown fields are refused), and one readable error
naming the field when it does not. :class:`~blazar_events.subscription.Subscription` is the
stored resource made from it.
"""

from __future__ import annotations

import ipaddress
import re
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
from blazar_events.delivery_spec import DeliverySpec, JsonInt, ProtocolSettings
from blazar_events.errors import BlazarEventsError, InvalidFilter, InvalidInput
from blazar_events.filters import from_expression
from blazar_events.reminders import REMINDER_TYPE, Reminders

ALL_PROJECTS = "*"
Status = Literal["ACTIVE", "DISABLED"]

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")


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
