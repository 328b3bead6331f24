"""A noisy neighbour: project A's subscriptions misbehave in every way a tenant can make them
(a sink that hangs, an ordered sink answering 503, a filter that raises when evaluated), and
project B, on the same broker, still receives every one of its events, even across a
SIGKILL of the broker in the middle of the run."""

from __future__ import annotations

from blazar_events.store import SubscriptionStore
from blazar_events.subscription import DeliverySpec
from stack.sink import HANG, Sink
from tests.delivery.conftest import to_subscription
from tests.e2e.conftest import BlazarNotifier, Pipeline, fixture_message, wait_until

A_EVENT = fixture_message("v2-lease.event.start_lease.json")
B_EVENT = fixture_message("v2-other-project-lease.event.start_lease.json")
# int() of more than 4,300 digits raises: stored directly, as an older API accepted it.
RAISING = {"sql": "INT(CONCAT_WS('" + "9" * 2000 + "','1','1','1','1','1')) > 1"}


def test_project_b_gets_everything_beside_a_hostile_project_a_and_a_killed_broker(
    pipeline: Pipeline, notifier: BlazarNotifier, store: SubscriptionStore, sink: Sink
) -> None:
    a, b = A_EVENT["payload"]["project_id"], B_EVENT["payload"]["project_id"]
    assert a != b
    to_subscription(store, sink.url("hung"), project_id=a,
                    delivery=DeliverySpec(retry=3, timeout="PT30S"))  # fmt: skip
    ordered = DeliverySpec(ordered=True, retry=100, backoffDelay="PT1S", backoffPolicy="linear")
    to_subscription(store, sink.url("ordered"), project_id=a, delivery=ordered)
    raising, _ = to_subscription(store, sink.url("raising"), project_id=a, filters=[RAISING])
    to_subscription(store, sink.url("b"), project_id=b)
    sink.answer_always("hung", HANG)
    sink.answer_always("ordered", 503)
    pipeline.start("bridge")
    broker = pipeline.start("broker")

    for _ in range(40):
        notifier.notify(A_EVENT)
        notifier.notify(B_EVENT)
    pipeline.wait_for(sink, lambda r: len({x.headers["webhook-id"] for x in r
                                           if x.path == "/b"}) >= 10)  # fmt: skip

    broker.kill()  # mid-run: no goodbye, no final commit
    for _ in range(40):
        notifier.notify(A_EVENT)
        notifier.notify(B_EVENT)
    pipeline.start("broker")

    def b_ids() -> set[str]:
        return {r.headers["webhook-id"] for r in sink.requests("b")}

    pipeline.wait_for(sink, lambda _r: len(b_ids()) >= 80, timeout=120)
    assert len(b_ids()) == 80
    assert sink.requests("raising") == []
    reason = wait_until(lambda: store.get(raising).status_reason, what="the filter's failure shown")
    assert "filter" in reason and store.get(raising).status == "ACTIVE"
    wait_until(  # the delivery log is written once a second, off the delivery path
        lambda: any(e["outcome"] == "error" for e in store.deliveries(raising)),
        what="the failure in the subscription's delivery log",
    )
    # The ordered subscription's deliveries wait in its own queue, not in front of B's.
    assert sink.requests("ordered")
