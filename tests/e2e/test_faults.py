"""Faults on the delivery path: nothing is lost, and one bad subscriber hurts no one else."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TypeVar

from blazar_events.store import SubscriptionStore
from blazar_events.subscription import DeliverySpec
from stack.sink import HANG, Sink
from tests.conftest import StackControl
from tests.delivery.conftest import to_subscription
from tests.e2e.conftest import BlazarNotifier, Pipeline, fixture_message, wait_until

START = fixture_message("v2-lease.event.start_lease.json")
T = TypeVar("T")
QUICK = DeliverySpec(retry=20, backoffPolicy="linear", backoffDelay="PT0.2S", timeout="PT2S")


def ids_at(sink: Sink, path: str) -> set[str]:
    return {r.headers["webhook-id"] for r in sink.requests(path)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_sink_down_for_a_while_gets_everything_once_back(
    pipeline: Pipeline, notifier: BlazarNotifier, store: SubscriptionStore
) -> None:
    port = free_port()  # nothing listens here yet: connections are refused
    sub_id, _ = to_subscription(
        store, f"http://127.0.0.1:{port}/late", project_id="*", delivery=QUICK
    )
    pipeline.start("bridge")
    pipeline.start("broker")
    for _ in range(5):
        notifier.notify(START)
    wait_until(lambda: len(store.deliveries(sub_id)) >= 5, what="failed attempts logged")

    with Sink(port=port) as sink:
        received = sink.wait_for(lambda r: len({x.headers["webhook-id"] for x in r}) >= 5)
    assert len({r.headers["webhook-id"] for r in received}) == 5
    assert any(e["outcome"] == "retry" for e in store.deliveries(sub_id))


def test_a_sink_answering_410_disables_its_subscription(
    pipeline: Pipeline, notifier: BlazarNotifier, store: SubscriptionStore, sink: Sink
) -> None:
    sub_id, _ = to_subscription(store, sink.url("gone"), project_id="*")
    sink.answer_always("gone", 410)
    pipeline.start("bridge")
    pipeline.start("broker")
    notifier.notify(START)

    wait_until(lambda: store.get(sub_id).status == "DISABLED", what="the subscription disabled")
    assert store.get(sub_id).status_reason == "the sink answered 410 Gone"
    log = wait_until(lambda: store.deliveries(sub_id), what="the attempt logged")
    assert log[0]["outcome"] == "gone"


def test_a_hung_sink_times_out_and_retries_while_a_healthy_one_is_served(
    pipeline: Pipeline, notifier: BlazarNotifier, store: SubscriptionStore, sink: Sink
) -> None:
    hung, _ = to_subscription(store, sink.url("hung"), project_id="*",
                              delivery=DeliverySpec(retry=5, timeout="PT0.5S",
                                                    backoffDelay="PT0.1S"))  # fmt: skip
    to_subscription(store, sink.url("ok"), project_id="*")
    sink.answer_always("hung", HANG)
    pipeline.start("bridge")
    pipeline.start("broker")
    for _ in range(10):
        notifier.notify(START)

    pipeline.wait_for(sink, lambda r: len([x for x in r if x.path == "/ok"]) >= 10)
    wait_until(
        lambda: any(e["outcome"] == "retry" and "no answer within 0.5 s" in (e["error"] or "")
                    for e in store.deliveries(hung)),
        what="the hung sink's attempt timing out",
    )  # fmt: skip
    assert len(ids_at(sink, "ok")) == 10


def test_a_broker_killed_mid_run_delivers_everything_after_restart(
    pipeline: Pipeline, notifier: BlazarNotifier, store: SubscriptionStore, sink: Sink
) -> None:
    to_subscription(store, sink.url("all"), project_id="*")
    pipeline.start("bridge")
    broker = pipeline.start("broker")
    for _ in range(100):
        notifier.notify(START)
    pipeline.wait_for(sink, lambda r: len(r) >= 10)

    broker.kill()
    for _ in range(100):
        notifier.notify(START)
    pipeline.start("broker")

    pipeline.wait_for(sink, lambda r: len({x.headers["webhook-id"] for x in r}) >= 200, 90)
    assert len(ids_at(sink, "all")) == 200


def test_the_broker_recovers_by_itself_when_redis_restarts(
    pipeline: Pipeline,
    notifier: BlazarNotifier,
    store: SubscriptionStore,
    sink: Sink,
    stack: StackControl,
) -> None:
    to_subscription(store, sink.url("before"), project_id="*", delivery=QUICK)
    pipeline.start("bridge")
    pipeline.start("broker")
    notifier.notify(START)
    sink.wait_for(lambda r: len(r) >= 1)

    stack.restart("redis")
    later, _ = wait_until(
        lambda: _try(lambda: to_subscription(store, sink.url("after"), project_id="*")),
        what="Redis answering again",
    )
    # The broker follows the store again: it answers a test request for the new subscription.
    store.request_test(later)
    pipeline.wait_for(sink, lambda r: len(ids_at(sink, "after")) >= 1)
    for _ in range(3):
        notifier.notify(START)

    pipeline.wait_for(
        sink, lambda r: len(ids_at(sink, "after")) >= 4 and len(ids_at(sink, "before")) >= 4
    )
    first = sink.requests("after")[0].event
    assert first is not None and first.get_type() == "org.openstack.blazar.subscription.test"


def _try(step: Callable[[], T]) -> T | None:
    try:
        return step()
    except Exception:  # Redis still restarting
        return None
