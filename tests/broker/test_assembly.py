"""The standalone broker end to end from Kafka: real Kafka, Redis and an HTTP sink."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent
from confluent_kafka import Producer

from blazar_events.records import to_record
from blazar_events.settings import KafkaSettings
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import DeliverySpec, SigningKeys
from stack.sink import HANG, Sink
from tests.broker.conftest import RunningBroker, committed, read_topic, send
from tests.delivery.conftest import from_fixture, to_subscription

START = "v2-lease.event.start_lease.json"
END = "v2-lease.event.end_lease.json"
OTHER = "v2-other-project-lease.event.start_lease.json"
FAST = DeliverySpec(retry=3, backoffDelay="PT0.1S", timeout="PT1S")

Publish = Callable[[BaseCloudEvent], None]
Start = Callable[..., RunningBroker]


def renamed(event: BaseCloudEvent, n: int) -> BaseCloudEvent:
    """The same event under another id (another notification about the lease)."""
    return CloudEvent({**event.get_attributes(), "id": f"{event.get_id()}-{n}"}, event.get_data())


def test_each_subscriber_gets_what_its_project_and_filters_allow(
    start_broker: Start, publish: Publish, store: SubscriptionStore, sink: Sink
) -> None:
    start, end, other = from_fixture(START), from_fixture(END), from_fixture(OTHER)
    project = str(start.get_extension("projectid"))
    member, secret = to_subscription(store, sink.url("member"), project_id=project)
    ender, _ = to_subscription(store, sink.url("ender"), project_id=project, types=[end.get_type()])
    admin, _ = to_subscription(store, sink.url("admin"), project_id="*")
    sink.verify_with("member", secret)
    start_broker()

    for event in (start, end, other):
        publish(event)

    sink.wait_for(lambda r: len(r) >= 5)
    time.sleep(0.3)  # nothing more may arrive
    got = {path: sorted(r.headers["webhook-id"] for r in sink.requests(path))
           for path in ("member", "ender", "admin")}  # fmt: skip
    assert got["member"] == sorted([start.get_id(), end.get_id()])
    assert got["ender"] == [end.get_id()]
    assert got["admin"] == sorted([start.get_id(), end.get_id(), other.get_id()])
    assert all(r.verified for r in sink.requests("member"))
    assert all(b"trust_id" not in r.body for r in sink.requests())
    assert {member, ender, admin}  # created


def test_a_failing_sink_is_retried_from_the_schedule_until_delivered(
    start_broker: Start, publish: Publish, store: SubscriptionStore, sink: Sink
) -> None:
    event = from_fixture(START)
    sub_id, _ = to_subscription(store, sink.url("flaky"), project_id="*", delivery=FAST)
    sink.answer("flaky", 503, 500)
    start_broker()

    publish(event)

    sink.wait_for(lambda r: len(r) >= 3)
    assert [r.headers["webhook-id"] for r in sink.requests("flaky")] == [event.get_id()] * 3
    deadline = time.monotonic() + 30
    while len(store.deliveries(sub_id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    log = store.deliveries(sub_id)
    assert [(e["attempt"], e["outcome"]) for e in log] == [
        (3, "delivered"), (2, "retry"), (1, "retry"),
    ]  # fmt: skip


def test_exhausted_and_permanent_failures_are_dead_lettered(
    start_broker: Start,
    publish: Publish,
    store: SubscriptionStore,
    sink: Sink,
    kafka_settings: KafkaSettings,
) -> None:
    event = from_fixture(START)
    spec = DeliverySpec(retry=1, backoffDelay="PT0.1S", deadLetterSink=sink.url("dls"))
    failing, _ = to_subscription(store, sink.url("down"), project_id="*", delivery=spec)
    refusing, _ = to_subscription(store, sink.url("no"), project_id="*")
    sink.answer_always("down", 503)
    sink.answer_always("no", 403)
    start_broker()

    publish(event)

    letters = read_topic(kafka_settings.bootstrap_servers, kafka_settings.dlq_topic, 2)
    by_sub = {str(e.get_extension("subscriptionid")): e for e in letters}
    assert set(by_sub) == {failing, refusing}
    down = by_sub[failing]
    assert down.get_id() == event.get_id()
    assert down.get_extension("knativeerrordest") == sink.url("down")
    assert down.get_extension("knativeerrorcode") == "503"
    assert "503" in str(down.get_extension("knativeerrordata"))
    assert by_sub[refusing].get_extension("knativeerrorcode") == "403"
    assert len(sink.requests("down")) == 2 and len(sink.requests("no")) == 1
    sink.wait_for(lambda r: any(x.path == "/dls" for x in r))
    [letter] = sink.requests("dls")
    assert letter.event is not None and letter.event.get_extension("knativeerrorcode") == "503"


def test_410_disables_the_subscription(
    start_broker: Start, publish: Publish, store: SubscriptionStore, sink: Sink
) -> None:
    sub_id, _ = to_subscription(store, sink.url("gone"), project_id="*")
    sink.answer_always("gone", 410)
    start_broker()

    publish(from_fixture(START))
    deadline = time.monotonic() + 20
    while store.get(sub_id).status != "DISABLED" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.get(sub_id).status == "DISABLED"
    assert store.get(sub_id).status_reason == "the sink answered 410 Gone"

    publish(from_fixture(END))  # the disabled subscription gets nothing more
    to_subscription(store, sink.url("witness"), project_id="*")
    publish(from_fixture(OTHER))
    sink.wait_for(lambda r: any(x.path == "/witness" for x in r))
    assert len(sink.requests("gone")) == 1


def test_a_hung_subscriber_does_not_hold_up_a_healthy_one(
    start_broker: Start, publish: Publish, store: SubscriptionStore, sink: Sink
) -> None:
    to_subscription(store, sink.url("hung"), project_id="*",
                    delivery=DeliverySpec(retry=2, timeout="PT30S"))  # fmt: skip
    to_subscription(store, sink.url("ok"), project_id="*")
    sink.answer_always("hung", HANG)
    start_broker(concurrency=2, queue_size=2)

    events = [renamed(from_fixture(name), n) for n in range(3) for name in (START, END, OTHER)]
    for event in events:
        publish(event)

    # All nine reach the healthy subscriber while the hung one holds its two connections.
    sink.wait_for(lambda r: len([x for x in r if x.path == "/ok"]) >= len(events), timeout=20)
    assert len(sink.requests("hung")) == 2


def test_offsets_are_committed_once_deliveries_settle(
    start_broker: Start,
    publish: Publish,
    store: SubscriptionStore,
    sink: Sink,
    kafka_settings: KafkaSettings,
) -> None:
    to_subscription(store, sink.url("a"), project_id="*")
    broker = start_broker(commit_interval=0.2)
    for name in (START, END, OTHER):
        publish(from_fixture(name))
    sink.wait_for(lambda r: len(r) >= 3)

    assert committed(kafka_settings, broker.assembly.settings.group_id, 3, timeout=10) == 3


def test_new_subscriptions_test_and_replay_requests(
    start_broker: Start, publish: Publish, store: SubscriptionStore, sink: Sink
) -> None:
    start_broker()
    before = datetime.now(UTC) - timedelta(seconds=5)
    publish(from_fixture(START))
    late, secret = to_subscription(store, sink.url("late"), project_id="*")
    sink.verify_with("late", secret)

    store.request_test(late)
    [test] = sink.wait_for(lambda r: len(r) >= 1)
    assert test.event is not None
    assert test.event.get_type() == "org.openstack.blazar.subscription.test"
    assert test.verified is True

    store.request_replay(late, since=before)
    received = sink.wait_for(lambda r: len(r) >= 2)
    assert received[1].headers["webhook-id"] == from_fixture(START).get_id()


# A filter that raises when evaluated (int() of more than 4,300 digits), written to the store
# directly as a bus producer or an older API could have.
REPLAYED = 150
REPLAY_WINDOW = 32  # broker.requests.REPLAY_WINDOW, the replayed events one replay may hold

RAISING = {"sql": "INT(CONCAT_WS('" + "9" * 2000 + "','1','1','1','1','1')) > 1"}


def test_a_filter_that_raises_is_recorded_on_its_subscription_and_hurts_no_one_else(
    start_broker: Start,
    publish: Publish,
    store: SubscriptionStore,
    sink: Sink,
    kafka_settings: KafkaSettings,
) -> None:
    start, end, other = from_fixture(START), from_fixture(END), from_fixture(OTHER)
    project = str(start.get_extension("projectid"))
    broken, _ = to_subscription(store, sink.url("broken"), project_id=project, filters=[RAISING])
    to_subscription(store, sink.url("healthy"), project_id="*")
    broker = start_broker(commit_interval=0.2)

    events = [renamed(e, n) for n in range(4) for e in (start, end, other)]
    for event in events:
        publish(event)

    # Every event of the poll batches reaches the healthy subscriber, none the broken one.
    sink.wait_for(lambda r: len({x.headers["webhook-id"] for x in r}) >= len(events))
    assert {r.headers["webhook-id"] for r in sink.requests("healthy")} == {
        e.get_id() for e in events
    }
    assert sink.requests("broken") == []
    deadline = time.monotonic() + 20
    while not store.get(broken).status_reason and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "filter" in str(store.get(broken).status_reason)
    assert store.get(broken).status == "ACTIVE"
    while not store.deliveries(broken) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.deliveries(broken)[0]["outcome"] == "error"
    errors = broker.assembly.metrics.registry.get_sample_value(
        "blazar_events_broker_errors_total", {"stage": "match"}
    )
    assert errors is not None and errors >= 8  # the project's events, each counted

    # every record settled: the committed offset is past them all
    group = broker.assembly.settings.group_id
    assert committed(kafka_settings, group, len(events), timeout=20) == len(events)

    # The tenant fixes the filter: the reason goes, and the subscription is served again.
    fixed = store.get(broken).model_copy(update={"filters": [{"prefix": {"type": "org."}}]})
    store.update(fixed)
    deadline = time.monotonic() + 20
    while store.get(broken).status_reason and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.get(broken).status_reason is None
    publish(renamed(start, 99))
    sink.wait_for(lambda r: any(x.path == "/broken" for x in r))


def test_an_ordered_subscription_answering_503_holds_no_offset_and_keeps_its_order(
    start_broker: Start,
    publish: Publish,
    store: SubscriptionStore,
    sink: Sink,
    kafka_settings: KafkaSettings,
) -> None:
    spec = DeliverySpec(ordered=True, retry=50, backoffDelay="PT0.2S", backoffPolicy="linear")
    to_subscription(store, sink.url("ordered"), project_id="*", delivery=spec)
    to_subscription(store, sink.url("ok"), project_id="*")
    sink.answer_always("ordered", 503)
    broker = start_broker(commit_interval=0.2)
    events = [renamed(from_fixture(START), n) for n in range(8)]  # one lease, in this order
    for event in events:
        publish(event)

    # Every record is settled while the ordered sink refuses them all: its deliveries wait
    # in its own durable queue, not in front of the committed offset.
    assert committed(kafka_settings, broker.assembly.settings.group_id, len(events)) == len(events)
    assert len({r.headers["webhook-id"] for r in sink.requests("ok")}) == len(events)

    refused = len(sink.requests("ordered"))
    sink.answer_always("ordered", 200)

    def taken() -> list[str]:  # ids in the order first sent since the sink took them
        ids = [r.headers["webhook-id"] for r in sink.requests("ordered")[refused:]]
        return list(dict.fromkeys(ids))

    sink.wait_for(lambda _r: len(taken()) >= len(events), timeout=60)
    assert taken() == [e.get_id() for e in events]


def test_a_replay_goes_past_a_record_nested_too_deep(
    start_broker: Start,
    publish: Publish,
    store: SubscriptionStore,
    sink: Sink,
    kafka_settings: KafkaSettings,
) -> None:
    """Another pod wrote a record whose data nests 5,000 deep straight to the topic: every
    tenant's replay over that time still brings the events around it."""
    broker = start_broker()
    before = datetime.now(UTC) - timedelta(seconds=5)
    first, after = from_fixture(START), renamed(from_fixture(START), 1)
    publish(first)
    producer = Producer({**kafka_settings.librdkafka_config(), "acks": "all"})
    deep = CloudEvent({**first.get_attributes(), "id": "deep"}, None)
    record = to_record(deep)
    send(producer, kafka_settings.topic, b"[" * 5000 + b"]" * 5000, record.key,
         list(record.headers))  # fmt: skip
    publish(after)
    deadline = time.monotonic() + 30  # routed live first, to no one: only a replay brings them
    while broker.assembly.metrics.records._value.get() < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    late, _ = to_subscription(store, sink.url("late"), project_id="*")

    store.request_replay(late, since=before)

    received = sink.wait_for(lambda r: len(r) >= 2, timeout=60)
    assert {r.headers["webhook-id"] for r in received} == {first.get_id(), after.get_id()}


def test_a_replay_holds_a_bounded_number_of_events_in_the_broker(
    start_broker: Start, publish: Publish, store: SubscriptionStore, sink: Sink
) -> None:
    """A replay of a long range to a subscriber that does not answer: the broker reads the
    topic only as fast as the lane and the retry schedule take the events, instead of
    holding every replayed event in memory at once (a week of a busy cloud's events, for
    one tenant's request)."""
    broker = start_broker(queue_size=2, concurrency=1)
    dispatcher = broker.assembly.dispatcher
    peak = [0]
    spawn = dispatcher._spawn

    def counting(coro: Any) -> None:
        spawn(coro)
        peak[0] = max(peak[0], len(dispatcher._background))

    dispatcher._spawn = counting  # type: ignore[method-assign]
    before = datetime.now(UTC) - timedelta(seconds=5)
    events = [renamed(from_fixture(START), n) for n in range(REPLAYED)]
    for event in events:
        publish(event)
    deadline = time.monotonic() + 60  # routed live first, to no one: only the replay brings them
    while broker.assembly.metrics.records._value.get() < REPLAYED and time.monotonic() < deadline:
        time.sleep(0.1)
    sub_id, _ = to_subscription(store, sink.url("slow"), project_id="*")
    sink.answer_always("slow", HANG)

    store.request_replay(sub_id, since=before)

    # Every replayed event is either in the lane (one hangs, two wait) or in the schedule.
    deadline = time.monotonic() + 60
    backlog = broker.assembly.schedule.schedule_key
    while store.client.zcard(backlog) < REPLAYED - 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store.client.zcard(backlog) >= REPLAYED - 3  # more once the hung attempt times out
    assert peak[0] <= REPLAY_WINDOW


def test_after_a_reload_the_broker_signs_with_the_stored_secret(
    start_broker: Start, publish: Publish, store: SubscriptionStore, sink: Sink
) -> None:
    """The broker missed a rotation (its change feed entry was lost while Redis was away
    from it, and it reloaded the subscriptions): it must not go on signing with the
    rotated-out secret, which the subscriber no longer accepts."""
    sub_id, old = to_subscription(store, sink.url("rotated"), project_id="*")
    sink.verify_with("rotated", old)
    broker = start_broker()
    first = from_fixture(START)
    publish(first)
    sink.wait_for(lambda r: len(r) >= 1)  # the broker now holds the keys it signed with

    # Rotated with no grace, the change feed entry missed; then the reload after an outage.
    keys = SigningKeys.model_validate_json(store.client.get(f"{store.prefix}:keys:{sub_id}"))
    new_keys = keys.rotated(timedelta(0))
    store.client.set(f"{store.prefix}:keys:{sub_id}", new_keys.model_dump_json())
    sink.verify_with("rotated", new_keys.current)
    loop = broker.assembly._loop
    assert loop is not None
    loop.call_soon_threadsafe(broker.assembly._on_snapshot, store.all())
    second = renamed(first, 2)
    publish(second)

    [_, delivery] = sink.wait_for(lambda r: len(r) >= 2)
    assert delivery.headers["webhook-id"] == second.get_id()
    assert delivery.verified is True, delivery.error


def test_a_filter_that_raises_during_a_replay_is_recorded_on_its_subscription(
    start_broker: Start, publish: Publish, store: SubscriptionStore, sink: Sink
) -> None:
    broker = start_broker()
    before = datetime.now(UTC) - timedelta(seconds=5)
    publish(from_fixture(START))
    deadline = time.monotonic() + 30  # routed live first, to no one: only the replay sees it
    while broker.assembly.metrics.records._value.get() < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    broken, _ = to_subscription(store, sink.url("broken"), project_id="*", filters=[RAISING])

    store.request_replay(broken, since=before)

    deadline = time.monotonic() + 30
    while not store.get(broken).status_reason and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "filters could not be evaluated" in str(store.get(broken).status_reason)
    assert sink.requests("broken") == []
