"""Pydantic models of what the API sends back (and of the small request bodies it owns).

The responses are built through these models, and the OpenAPI document is generated from them,
so the document cannot drift from what the code returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from blazar_events.subscription import Subscription, SubscriptionInput


class Error(BaseModel):
    error_code: int
    error_name: str
    error_message: str


class SubscriptionView(Subscription):
    """A subscription as returned; ``secret`` only on create, ``warnings`` on create/update."""

    secret: str | None = Field(
        default=None, description="Standard Webhooks secret; shown on create only"
    )
    warnings: list[str] | None = Field(
        default=None, description="accepted, but worth knowing (e.g. a type Blazar never emits)"
    )


class SubscriptionPatch(SubscriptionInput):
    """A JSON merge patch of a subscription: any subset of the fields; null removes one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=None)


class Link(BaseModel):
    rel: Literal["next"]
    href: str


class SubscriptionList(BaseModel):
    subscriptions: list[SubscriptionView]
    subscriptions_links: list[Link] = Field(default_factory=list)


class SecretRotationInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_period: str | None = Field(
        default=None,
        description="ISO 8601 duration the old secret keeps signing (default from settings)",
    )


class SecretRotation(BaseModel):
    id: str
    secret: str = Field(description="the new Standard Webhooks secret; shown only here")
    previous_expires_at: datetime | None = Field(
        description="until when the previous secret also signs"
    )


class ReplayInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime = Field(description="RFC 3339 time with offset, e.g. 2026-07-10T12:00:00Z")
    until: AwareDatetime | None = Field(default=None, description="exclusive end; default now")


class ReplayAccepted(BaseModel):
    replay_id: str
    subscription_id: str
    since: datetime
    until: datetime | None


class SyntheticEventAccepted(BaseModel):
    request_id: str
    subscription_id: str
    type: str


class SnapshotAccepted(BaseModel):
    request_id: str
    subscription_id: str
    type: str = Field(description="the type of the events that will follow, one per live lease")


class DeliveryList(BaseModel):
    deliveries: list[dict[str, Any]] = Field(description="newest attempt first")


class EventType(BaseModel):
    type: str
    short: str
    description: str
    dataschema: dict[str, dict[str, Any]] = Field(
        description="JSON schema of the payload for each Blazar generation (v2, legacy)"
    )


class EventTypeList(BaseModel):
    event_types: list[EventType]


class LeaseSubscriptionsInput(BaseModel):
    """The original proposal's body: one subscription per entry, all on the path's lease."""

    model_config = ConfigDict(extra="forbid")

    subscriptions: list[SubscriptionInput] = Field(min_length=1, max_length=32)


class LeaseSubscriptions(BaseModel):
    subscriptions: list[SubscriptionView]


class Health(BaseModel):
    status: Literal["ok"]
