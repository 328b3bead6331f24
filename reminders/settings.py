"""Settings of ``blazar-events reminders`` (section ``[reminders]``)."""

from __future__ import annotations

from pydantic import Field

from blazar_events.settings import Port, ServiceSection


class ReminderSettings(ServiceSection, section="reminders"):
    group_id: str = Field(
        "blazar-events-reminders",
        description="Kafka consumer group reading lease events from [kafka] topic",
    )
    port: Port = Field(8092, description="Port of the health endpoint (/healthz)")
    tick: float = Field(0.5, gt=0, le=60, description="Seconds between looks at the schedule")
    batch: int = Field(500, ge=1, le=10_000, description="Due entries claimed at a time")
    claim_lapse: float = Field(
        60.0,
        gt=0,
        description="Seconds after which a claimed entry whose reminders were not recorded "
        "as sent (its scheduler died) is claimed again",
    )
    send_timeout: float = Field(
        30.0, gt=0, description="Seconds to wait for Kafka to take a batch of reminders"
    )
    tombstone_retention: float = Field(
        86400.0,
        gt=0,
        description="Seconds a deleted lease is remembered, so that its older events replayed "
        "from Kafka do not bring it back",
    )
