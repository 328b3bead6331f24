"""Who is reminded: the registry's filing of subscriptions and reading of lease events (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given
from hypothesis import strategies as st

from blazar_events.subscription import Subscription
from reminders.registry import Registry, from_event, to_date
from reminders.schedule import Lease

T0 = datetime(2026, 7, 10, 12, 0, tzinfo=UTC)


def subscription(project: str = "p-a", *, status: str = "ACTIVE", filters: Any = None,
                 created: datetime = T0 - timedelta(days=1),
                 **reminders: list[str]) -> Subscription:  # fmt: skip
    return Subscription(project_id=project, sink="https://hooks.example.org/", status=status,
                        reminders=reminders or None, filters=filters or [],
                        created_at=created)  # fmt: skip


def lease(project: str = "p-a", status: str | None = "ACTIVE") -> Lease:
    return Lease("lease-1", project, T0, T0 + timedelta(days=1), T0, "u", status, "mine")


def event(event_type: str, data: Any, **extra: Any) -> CloudEvent:
    attributes = {"id": "1", "source": "/openstack/blazar/blazar.lease", "time": T0,
                  "type": f"org.openstack.blazar.{event_type}", "specversion": "1.0",
                  "projectid": "p-a", "leaseid": "lease-1", **extra}  # fmt: skip
    return CloudEvent(attributes, data)


def test_only_active_subscriptions_with_reminders_are_filed() -> None:
    registry = Registry()
    wants = subscription(before_end=["PT1H"], before_start=["PT15M"])
    registry.replace_all(
        [wants, subscription(), subscription(status="DISABLED", before_end=["P1D"])]
    )
    assert len(registry) == 1
    assert registry.wanted() == {("p-a", "before_end", 3600), ("p-a", "before_start", 900)}
    assert registry.leads_for("p-b") == set()


def test_an_all_projects_subscription_wants_every_projects_leases() -> None:
    registry = Registry()
    admin = subscription("*", before_end=["P1D"])
    registry.replace_all([admin])
    assert registry.leads_for("p-b") == {("before_end", 86400)}
    assert registry.recipients(lease("p-b"), "before_end", 86400, T0) == [admin.id]


def test_recipients_are_the_projects_own_and_a_replaced_subscription_is_refiled() -> None:
    registry = Registry()
    mine, theirs = subscription(before_end=["PT1H"]), subscription("p-b", before_end=["PT1H"])
    registry.replace_all([mine, theirs])
    assert registry.recipients(lease(), "before_end", 3600, T0) == [mine.id]
    assert registry.recipients(lease(), "before_end", 60, T0) == []
    registry.put(mine.model_copy(update={"reminders": None}))
    assert registry.recipients(lease(), "before_end", 3600, T0) == []
    registry.remove(theirs.id)
    assert registry.wanted() == set()


def test_a_subscription_newer_than_the_reminder_does_not_get_it() -> None:
    registry = Registry()
    late = subscription(before_end=["PT1H"], created=T0 + timedelta(minutes=1))
    registry.replace_all([late])
    assert registry.recipients(lease(), "before_end", 3600, T0) == []
    assert registry.recipients(lease(), "before_end", 3600, T0 + timedelta(hours=1)) == [late.id]


def test_filters_choose_on_the_reminders_attributes() -> None:
    registry = Registry()
    active = subscription(before_end=["PT1H"], filters=[{"exact": {"leasestatus": "ACTIVE"}}])
    registry.replace_all([active])
    assert registry.recipients(lease(status="ACTIVE"), "before_end", 3600, T0) == [active.id]
    assert registry.recipients(lease(status="PENDING"), "before_end", 3600, T0) == []


def test_a_lease_event_becomes_the_lease_and_a_deletion_its_absence() -> None:
    data = {"start_date": "2026-07-10 12:00:00", "end_date": "2026-07-11T12:00:00",
            "user_id": "u", "status": "ACTIVE", "name": "n" * 300}  # fmt: skip
    read = from_event(event("lease.create", data))
    assert read is not None
    lease_id, got, project, time = read
    assert (lease_id, project, time) == ("lease-1", "p-a", T0)
    assert got is not None and got.start == T0 and got.end == T0 + timedelta(days=1)
    assert got.name == "n" * 255
    assert from_event(event("lease.delete", None)) == ("lease-1", None, "p-a", T0)


@pytest.mark.parametrize(
    "made",
    [
        event("reminder", {}),
        event("lease.create", {}, subscriptionid="s"),
        event("subscription.test", {}),
    ],
)
def test_the_systems_own_events_and_other_types_are_not_lease_events(made: CloudEvent) -> None:
    assert from_event(made) is None


@pytest.mark.parametrize(
    "made",
    [
        event("lease.update", ["not", "an", "object"]),
        event("lease.update", {"start_date": "2026-07-10", "end_date": 7}),
        event("lease.update", {"start_date": "0001-01-01T00:00:00+14:00", "end_date": "x"}),
    ],
)
def test_a_lease_event_that_cannot_be_read_raises_value_error(made: CloudEvent) -> None:
    with pytest.raises(ValueError):
        from_event(made)


@given(st.one_of(st.text(max_size=40), st.integers(), st.none(), st.datetimes().map(str)))
def test_any_date_is_a_date_in_range_or_a_value_error(value: Any) -> None:
    try:
        moment = to_date(value)
    except ValueError:
        return
    assert moment.tzinfo is not None and 1971 <= moment.year <= 9000
    assert moment - timedelta(days=366) < moment  # a lead time never overflows
