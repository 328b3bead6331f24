"""The scheduler's decisions against real Redis, on a clock the test moves (no waiting).

Kafka is the one thing stood in for here (a list behind the ``Sender`` protocol): the
pipeline tests (``test_pipeline.py``) run the real process between Kafka and a real sink.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from cloudevents.core.v1.event import CloudEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blazar_events.records import KafkaRecord, from_record
from blazar_events.reminders import REMINDER_TYPE
from blazar_events.subscription import Subscription
from reminders.registry import Registry
from reminders.schedule import Schedule
from reminders.scheduler import Scheduler

T0 = datetime(2026, 7, 10, 12, 0, tzinfo=UTC)
PROJECT = "project-a"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Kafka:
    def __init__(self) -> None:
        self.records: list[KafkaRecord] = []
        self.fail = False

    def send_all(self, records: list[KafkaRecord]) -> None:
        if self.fail:
            raise ConnectionError("Kafka is away")
        self.records.extend(records)

    def events(self) -> list[Any]:
        return [from_record(r.key, r.value, r.headers) for r in self.records]


@pytest.fixture
def parts(redis_url: str, redis_prefix: str) -> Iterator[tuple[Scheduler, Kafka, Clock]]:
    client = redis.Redis.from_url(redis_url)
    clock, kafka = Clock(), Kafka()
    scheduler = Scheduler(Schedule(client, redis_prefix), Registry(), kafka, "/test/reminders",
                          lapse=30, clock=clock)  # fmt: skip
    yield scheduler, kafka, clock
    client.close()


def subscription(project: str = PROJECT, **reminders: list[str]) -> Subscription:
    return Subscription(project_id=project, sink="https://hooks.example.org/",
                        reminders=reminders, created_at=T0 - timedelta(days=1))  # fmt: skip


def lease_event(kind: str, end: datetime, *, at: datetime, lease: str = "lease-1",
                project: str = PROJECT, start: datetime | None = None) -> CloudEvent:  # fmt: skip
    start = start or T0 - timedelta(hours=1)
    data = {"lease_id": lease, "project_id": project, "user_id": "u",
            "start_date": start.replace(tzinfo=None).isoformat(),
            "end_date": end.replace(tzinfo=None).isoformat(), "status": "ACTIVE"}  # fmt: skip
    return CloudEvent(
        {"id": f"{kind}-{at.timestamp()}", "source": "/openstack/blazar/blazar.lease",
         "type": f"org.openstack.blazar.{kind}", "time": at, "projectid": project,
         "leaseid": lease, "specversion": "1.0"},
        data,
    )  # fmt: skip


def run_until(scheduler: Scheduler, clock: Clock, moment: datetime) -> None:
    clock.now = moment
    while scheduler.fire():
        pass


def test_a_reminder_fires_once_at_its_lead_time_to_the_subscription_that_asked(
    parts: tuple[Scheduler, Kafka, Clock],
) -> None:
    scheduler, kafka, clock = parts
    asked = subscription(before_end=["PT1H", "PT10M"])
    scheduler.registry.replace_all([asked, subscription()])  # the second asked for none
    end = T0 + timedelta(hours=5)
    scheduler.apply(lease_event("lease.create", end, at=T0))
    run_until(scheduler, clock, end - timedelta(hours=1, seconds=1))
    assert kafka.records == []
    run_until(scheduler, clock, end - timedelta(hours=1))
    (first,) = kafka.events()
    assert first.get_type() == REMINDER_TYPE
    assert first.get_extension("subscriptionid") == asked.id
    assert first.get_data()["lead_time"] == "PT3600S"
    assert first.get_data()["end_date"] == "2026-07-10T17:00:00.000000"
    run_until(scheduler, clock, end + timedelta(days=1))
    assert [e.get_data()["lead_seconds"] for e in kafka.events()] == [3600, 600]


def test_an_extension_moves_the_reminder_and_a_delete_cancels_it(
    parts: tuple[Scheduler, Kafka, Clock],
) -> None:
    scheduler, kafka, clock = parts
    scheduler.registry.replace_all([subscription(before_end=["PT1H"])])
    end = T0 + timedelta(hours=5)
    scheduler.apply(lease_event("lease.create", end, at=T0))
    later = end + timedelta(hours=3)
    scheduler.apply(lease_event("lease.update", later, at=T0 + timedelta(minutes=1)))
    run_until(scheduler, clock, end)  # the old time passes: nothing
    assert kafka.records == []
    run_until(scheduler, clock, later - timedelta(hours=1))
    (moved,) = kafka.events()
    assert moved.get_data()["end_date"] == "2026-07-10T20:00:00.000000"

    scheduler.apply(lease_event("lease.create", end + timedelta(days=2), at=clock.now,
                                lease="lease-2"))  # fmt: skip
    scheduler.apply(lease_event("lease.delete", end + timedelta(days=2), at=clock.now,
                                lease="lease-2"))  # fmt: skip
    # The create replayed after the delete (an older event): the lease stays gone.
    scheduler.apply(lease_event("lease.create", end + timedelta(days=2), at=T0, lease="lease-2"))
    run_until(scheduler, clock, end + timedelta(days=3))
    assert len(kafka.records) == 1


def test_lead_times_already_past_are_not_fired(parts: tuple[Scheduler, Kafka, Clock]) -> None:
    scheduler, kafka, clock = parts
    scheduler.registry.replace_all([subscription(before_end=["P1D", "PT1H"])])
    end = T0 + timedelta(hours=5)  # P1D before it is already past when the lease appears
    scheduler.apply(lease_event("lease.create", end, at=T0))
    run_until(scheduler, clock, end)
    assert [e.get_data()["lead_time"] for e in kafka.events()] == ["PT3600S"]


def test_a_new_lead_time_is_scheduled_for_leases_already_known(
    parts: tuple[Scheduler, Kafka, Clock],
) -> None:
    scheduler, kafka, clock = parts
    scheduler.registry.replace_all([subscription(before_end=["PT1H"])])
    assert scheduler.sync_leads() == 0  # no lease yet
    end = T0 + timedelta(hours=5)
    scheduler.apply(lease_event("lease.create", end, at=T0))
    late = subscription(before_end=["PT2H"], before_start=["PT1M"])
    scheduler.registry.put(late)
    assert scheduler.sync_leads() == 1  # the start is past: only before_end PT2H
    run_until(scheduler, clock, end)
    assert sorted(e.get_data()["lead_seconds"] for e in kafka.events()) == [3600, 7200]


def test_another_projects_subscription_never_gets_the_reminder(
    parts: tuple[Scheduler, Kafka, Clock],
) -> None:
    scheduler, kafka, clock = parts
    mine, admin = subscription(before_end=["PT1H"]), subscription("*", before_end=["PT1H"])
    scheduler.registry.replace_all([subscription("project-b", before_end=["PT1H"]), mine, admin])
    end = T0 + timedelta(hours=5)
    scheduler.apply(lease_event("lease.create", end, at=T0))
    run_until(scheduler, clock, end)
    assert {e.get_extension("subscriptionid") for e in kafka.events()} == {mine.id, admin.id}


def test_a_claim_whose_scheduler_died_fires_again_with_the_same_ids(
    parts: tuple[Scheduler, Kafka, Clock],
) -> None:
    scheduler, kafka, clock = parts
    scheduler.registry.replace_all([subscription(before_end=["PT1H"])])
    end = T0 + timedelta(hours=5)
    scheduler.apply(lease_event("lease.create", end, at=T0))
    kafka.fail = True
    clock.now = end - timedelta(hours=1)
    with pytest.raises(ConnectionError):
        scheduler.fire()  # claimed, never recorded as sent: as if killed here
    kafka.fail = False
    run_until(scheduler, clock, clock.now + timedelta(seconds=10))
    assert kafka.records == []  # the claim still holds
    run_until(scheduler, clock, clock.now + timedelta(seconds=31))
    (event,) = kafka.events()
    run_until(scheduler, clock, end + timedelta(days=1))
    assert len(kafka.records) == 1
    assert (
        event.get_id()
        == scheduler._record(  # the id a second send would carry
            event.get_extension("subscriptionid"),
            scheduler.schedule.lease("lease-1"),  # type: ignore[arg-type]
            "before_end",
            3600,
        )
        .header("ce_id")
        .decode()
    )  # type: ignore[union-attr]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(["start_date", "end_date", "lease_id", "status"]),
                       st.one_of(st.text(max_size=30), st.integers(), st.none(),
                                 st.lists(st.integers(), max_size=3),
                                 st.datetimes().map(datetime.isoformat),
                                 st.sampled_from(["0001-01-01T00:00:00", "9999-12-31T23:59:59",
                                                  "0001-01-01T00:00:00+14:00"]))))  # fmt: skip
def test_a_hostile_lease_event_is_refused_alone(
    parts: tuple[Scheduler, Kafka, Clock], data: dict[str, Any]
) -> None:
    scheduler, _, _ = parts
    scheduler.registry.replace_all([subscription(before_end=["PT1H"])])
    bad = CloudEvent({"id": "x", "source": "/s", "type": "org.openstack.blazar.lease.update",
                      "time": T0, "projectid": PROJECT, "leaseid": "evil",
                      "specversion": "1.0"}, data)  # fmt: skip
    outcome = scheduler.apply(bad)  # whatever the dates, an outcome and no exception
    assert outcome in {"invalid", "scheduled", "updated", "stale"}
    good = lease_event("lease.create", T0 + timedelta(hours=3), at=T0, lease="good")
    assert scheduler.apply(good) in {"scheduled", "updated"}


def test_a_lease_at_the_edge_of_time_is_refused_and_the_next_one_scheduled(
    parts: tuple[Scheduler, Kafka, Clock],
) -> None:
    # A date near datetime's limits used to overflow when the lead was subtracted: the
    # consumer crashed on the record, was restarted, read it again, and scheduled nothing more.
    scheduler, _, _ = parts
    scheduler.registry.replace_all([subscription(before_end=["P366D"], before_start=["PT1S"])])
    for date in ("0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00"):
        data = {"start_date": date, "end_date": date}
        bad = CloudEvent({"id": "x", "source": "/s", "type": "org.openstack.blazar.lease.update",
                          "time": T0, "projectid": PROJECT, "leaseid": "evil",
                          "specversion": "1.0"}, data)  # fmt: skip
        assert scheduler.apply(bad) == "invalid"
    good = lease_event("lease.create", T0 + timedelta(days=400), at=T0, lease="good")
    assert scheduler.apply(good) == "scheduled"
