"""What an attempt leaves behind: counted by outcome, failures always in the delivery log,
successes up to the log's rate. Pure logic."""

from __future__ import annotations

import time

from cloudevents.core.v1.event import CloudEvent

from blazar_events.subscription import Subscription
from broker.deliverylog import DeliveryLog
from broker.index import from_subscription_entry
from broker.lanes import Job
from broker.metrics import BrokerMetrics
from broker.observer import Observer
from delivery.outcomes import Attempt, Delivered, Retry
from delivery.request import Payload

EVENT = CloudEvent({"id": "e1", "source": "/s", "type": "t", "specversion": "1.0"})


def test_failures_are_always_logged_and_successes_up_to_the_rate() -> None:
    metrics = BrokerMetrics()
    log = DeliveryLog(None, 2)  # type: ignore[arg-type]  # never flushed here
    observer = Observer(metrics, log)
    entry = from_subscription_entry(Subscription(project_id="p", sink="http://sink.test/"))
    job = Job(entry.id, Payload(EVENT), "lease")
    for _ in range(5):
        observer.attempt(entry, job, Attempt(Delivered(200), time.time(), 0.01, 1))
    for _ in range(3):
        observer.attempt(entry, job, Attempt(Retry("503", 503), time.time(), 0.01, 1))
    outcomes = [entry["outcome"] for entry in log._pending[entry.id]]
    assert outcomes == ["delivered", "delivered", "retry", "retry", "retry"]
    assert metrics.deliveries.labels("delivered")._value.get() == 5
    assert metrics.deliveries.labels("retry")._value.get() == 3
