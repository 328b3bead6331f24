"""Reminders end to end, every part a real process on the local stack:

oslo.messaging Notifier -> RabbitMQ -> ``bridge`` -> Kafka -> ``reminders`` (schedule in
Redis) -> Kafka (addressed records) -> ``broker`` -> a real HTTP sink.

Leases end seconds from now with reminders of seconds; bounds are generous and nothing is
timed: an absence is checked once a later marker reminder has arrived.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from blazar_events.reminders import REMINDER_TYPE
from blazar_events.store import SubscriptionStore
from stack.sink import Received, Sink
from tests.conftest import unique_name
from tests.delivery.conftest import to_subscription
from tests.e2e.conftest import BlazarNotifier, Pipeline, fixture_message, wait_until

PROJECT = "aa45f56901ef45ee95e3d211097c0ea3"  # the fixtures' project


def naive(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def send(notifier: BlazarNotifier, kind: str, lease: str, end: datetime, **extra: Any) -> None:
    fixture = fixture_message(f"v2-lease.{kind}.json")
    start = datetime.now(UTC) - timedelta(minutes=5)
    fixture["payload"] = {**fixture["payload"], "lease_id": lease, "start_date": naive(start),
                          "end_date": naive(end), **extra}  # fmt: skip
    notifier.notify(fixture)


def start(pipeline: Pipeline) -> None:
    pipeline.env["BLAZAR_EVENTS_REMINDERS_GROUP_ID"] = unique_name("reminders")
    pipeline.env["BLAZAR_EVENTS_REMINDERS_PORT"] = "0"
    pipeline.env["BLAZAR_EVENTS_REMINDERS_TICK"] = "0.2"
    pipeline.start("bridge")
    broker, scheduler = pipeline.start("broker"), pipeline.start("reminders")
    # Both read the topic before any lease event is sent (a busy machine takes seconds).
    for process, line in ((broker, "assigned partitions"), (scheduler, "partitions [0] assigned")):
        wait_until(lambda p=process, t=line: t in p.log.read_text(errors="replace"),  # type: ignore[misc]
                   timeout=120, what=f"{process.command} reading the topic")  # fmt: skip


def reminders(received: list[Received]) -> list[Received]:
    return [r for r in received if r.event is not None and r.event.get_type() == REMINDER_TYPE]


def of_lease(received: list[Received], lease: str) -> list[Received]:
    return [r for r in reminders(received) if r.event and r.event.get_subject() == lease]


def test_a_reminder_arrives_signed_at_its_subscriber_only(
    pipeline: Pipeline, notifier: BlazarNotifier, store: SubscriptionStore, sink: Sink
) -> None:
    sub_id, secret = to_subscription(store, sink.url("asked"), project_id=PROJECT,
                                     reminders={"before_end": ["PT20S", "PT10S"]})  # fmt: skip
    sink.verify_with("asked", secret)
    to_subscription(store, sink.url("plain"), project_id=PROJECT)  # asked for no reminder
    to_subscription(store, sink.url("neighbour"), project_id="other-project",
                    reminders={"before_end": ["PT20S", "PT10S"]})  # fmt: skip
    start(pipeline)
    lease = str(uuid.uuid4())
    end = datetime.now(UTC) + timedelta(seconds=40)
    send(notifier, "create", lease, end)

    got = pipeline.wait_for(sink, lambda r: len(of_lease(r, lease)) >= 2, timeout=90)
    asked = of_lease(got, lease)
    assert all(r.path == "/asked" and r.verified for r in asked), [(r.path, r.error) for r in asked]
    assert sorted(r.event.get_data()["lead_seconds"] for r in asked if r.event) == [10, 20]
    assert all(r.event and r.event.get_extension("subscriptionid") == sub_id for r in asked)
    assert all(r.event and r.event.get_data()["end_date"] == naive(end) for r in asked)
    assert not reminders(sink.requests("plain")) and not sink.requests("neighbour")
    assert sink.requests("plain")  # it did get the lease.create itself


def test_an_extension_moves_the_reminder_and_a_delete_cancels_it(
    pipeline: Pipeline, notifier: BlazarNotifier, store: SubscriptionStore, sink: Sink
) -> None:
    to_subscription(store, sink.url("asked"), project_id=PROJECT,
                    reminders={"before_end": ["PT5S"]})  # fmt: skip
    start(pipeline)
    moved, deleted, marker = (str(uuid.uuid4()) for _ in range(3))
    now = datetime.now(UTC)
    send(notifier, "create", moved, now + timedelta(seconds=40))
    send(notifier, "create", deleted, now + timedelta(seconds=40))
    new_end = now + timedelta(seconds=60)
    send(notifier, "update", moved, new_end)
    send(notifier, "delete", deleted, now + timedelta(seconds=40))
    send(notifier, "create", marker, now + timedelta(seconds=70))  # fires after the others

    got = pipeline.wait_for(sink, lambda r: len(of_lease(r, marker)) >= 1, timeout=120)
    (reminder,) = of_lease(got, moved)
    assert reminder.event and reminder.event.get_data()["end_date"] == naive(new_end)
    assert of_lease(got, deleted) == []


def test_a_scheduler_killed_between_scheduling_and_firing_still_fires_each_once(
    pipeline: Pipeline, notifier: BlazarNotifier, store: SubscriptionStore, sink: Sink,
    redis_url: str, redis_prefix: str,
) -> None:  # fmt: skip
    leads = ["PT25S", "PT20S", "PT15S"]
    to_subscription(store, sink.url("asked"), project_id=PROJECT, reminders={"before_end": leads})
    to_subscription(store, sink.url("also"), project_id=PROJECT, reminders={"before_end": leads})
    start(pipeline)
    lease = str(uuid.uuid4())
    send(notifier, "create", lease, datetime.now(UTC) + timedelta(seconds=50))
    client = redis.Redis.from_url(redis_url)
    due = f"{redis_prefix}:reminders:due"
    wait_until(lambda: client.zcard(due) >= 3, timeout=60, what="the lease scheduled")
    assert client.zcard(f"{redis_prefix}:reminders:inflight") == 0  # nothing has fired yet
    (scheduler,) = [p for p in pipeline.processes if p.command == "reminders"]
    scheduler.kill()  # SIGKILL: its Kafka offsets and anything in memory are gone
    client.close()
    pipeline.start("reminders")

    got = pipeline.wait_for(sink, lambda r: len(of_lease(r, lease)) >= 6, timeout=120)
    ids = Counter(r.event.get_id() for r in of_lease(got, lease) if r.event)
    assert len(ids) == 6 and set(ids.values()) == {1}, ids
