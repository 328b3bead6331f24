"""What every attempt leaves behind: its outcome counted, its latency observed, an entry in
the subscription's delivery log (as many as the log takes), a log line for a failure."""

from __future__ import annotations

import logging
from typing import Any

from broker.deliverylog import DeliveryLog
from broker.index import Entry
from broker.lanes import Job
from broker.metrics import BrokerMetrics
from delivery.outcomes import Attempt, to_name

log = logging.getLogger("broker.dispatcher")  # where these lines were always logged


class Observer:
    def __init__(self, metrics: BrokerMetrics, delivery_log: DeliveryLog) -> None:
        self.metrics = metrics
        self.delivery_log = delivery_log
        self._counters: dict[str, Any] = {}  # one labelled counter per outcome, looked up once

    def attempt(self, entry: Entry, job: Job, attempt: Attempt) -> None:
        name = to_name(attempt.outcome)
        counter = self._counters.get(name)
        if counter is None:
            counter = self._counters[name] = self.metrics.deliveries.labels(name)
        counter.inc()
        self.metrics.latency.observe(attempt.latency)
        if self.delivery_log.wants(entry.id, name):
            self.delivery_log.add(
                entry.id, attempt.to_log(job.payload.event_id, job.payload.event.get_type())
            )
        if name != "delivered":
            log.info("subscription %s event %s attempt %d: %s",
                     entry.id, job.payload.event_id, job.number,
                     getattr(attempt.outcome, "error", name))  # fmt: skip
