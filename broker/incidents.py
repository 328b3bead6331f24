"""Exceptions contained at the per-subscription boundary: matching or delivering for one
subscription raised. Whatever a tenant's filter or sink does, the broker records it on that
subscription and goes on with everyone else's work.

Each incident is counted (``blazar_events_broker_errors_total{stage}``), logged (with its
traceback once a minute per subscription at most: a filter that raises on every event must
not flood the log), written to the subscription's delivery log (outcome ``error``, at most
``log_successes_per_second`` a second, like successes), and shown as its ``status_reason``
(written once per distinct reason, off the event loop).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from blazar_events.errors import BlazarEventsError, NotFound
from blazar_events.status_reasons import PREFIX, to_reason
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import Subscription
from broker.deliverylog import DeliveryLog
from broker.index import Entry, SubscriptionIndex, from_subscription_entry
from broker.metrics import BrokerMetrics

log = logging.getLogger(__name__)

LOG_EVERY = 60.0  # seconds between two logged tracebacks of one subscription


def to_entry(event_id: str, event_type: str, number: int, reason: str) -> dict[str, Any]:
    """A delivery-log entry shaped like an attempt's (``Attempt.to_log``)."""
    return {
        "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "event_id": event_id,
        "type": event_type,
        "attempt": number,
        "outcome": "error",
        "status_code": None,
        "latency_ms": 0.0,
        "error": reason,
    }


class Incidents:
    def __init__(
        self, store: SubscriptionStore, delivery_log: DeliveryLog, metrics: BrokerMetrics
    ) -> None:
        self.store = store
        self.delivery_log = delivery_log
        self.metrics = metrics
        self._logged_at: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._reasons: dict[str, str] = {}  # the status_reason written (or being written)
        self._writes: set[asyncio.Task[None]] = set()

    def record(
        self,
        entry: Entry,
        stage: str,
        error: BaseException,
        event_id: str,
        event_type: str,
        number: int = 0,
    ) -> None:
        """Never raises: it runs where an exception was just caught."""
        try:
            self._record(entry, stage, error, event_id, event_type, number)
        except Exception:  # recording must not become the next incident
            log.exception("could not record an incident of subscription %s", entry.id)

    def _record(
        self,
        entry: Entry,
        stage: str,
        error: BaseException,
        event_id: str,
        event_type: str,
        number: int,
    ) -> None:
        self.metrics.errors.labels(stage).inc()
        reason = to_reason(stage, error)
        self._log(entry.id, stage, event_id, error)
        if self.delivery_log.wants_error(entry.id):
            self.delivery_log.add(entry.id, to_entry(event_id, event_type, number, reason))
        if entry.sub.status_reason != reason and self._reasons.get(entry.id) != reason:
            self._reasons[entry.id] = reason
            self._write(entry.id, reason)

    def changed(self, old: Subscription | None, new: Subscription) -> None:
        """The tenant changed the filters: a reason saying they failed no longer holds (the
        new ones are recorded again if they fail too)."""
        reason = new.status_reason or ""
        if old is not None and old.filters != new.filters and reason.startswith(PREFIX["match"]):
            self._reasons[new.id] = ""
            self._write(new.id, None)

    def delivered(self, entry: Entry) -> None:
        """A delivery succeeded: a reason saying delivering failed no longer holds."""
        reason = entry.sub.status_reason
        if reason and reason.startswith(PREFIX["deliver"]) and self._reasons.get(entry.id) != "":
            self._reasons[entry.id] = ""
            self._write(entry.id, None)

    def _write(self, sub_id: str, reason: str | None) -> None:
        try:
            task = asyncio.get_running_loop().create_task(self._note(sub_id, reason))
        except RuntimeError:  # no loop (a unit test): the log and the metric suffice
            return
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def _log(self, sub_id: str, stage: str, event_id: str, error: BaseException) -> None:
        now = time.monotonic()
        if now - self._logged_at.get(sub_id, -LOG_EVERY) < LOG_EVERY:
            self._suppressed[sub_id] = self._suppressed.get(sub_id, 0) + 1
            return
        self._logged_at[sub_id] = now
        suppressed = self._suppressed.pop(sub_id, 0)
        log.warning(
            "subscription %s, event %s: %s failed (%d more since the last report)",
            sub_id, event_id, stage, suppressed, exc_info=error,
        )  # fmt: skip

    async def _note(self, sub_id: str, reason: str | None) -> None:
        try:
            await asyncio.to_thread(self.store.set_status_reason, sub_id, reason)
        except BlazarEventsError as exc:  # deleted meanwhile, or Redis down: the log has it
            self._reasons.pop(sub_id, None)
            log.warning("status_reason of %s not written: %s", sub_id, exc.message)
        except Exception as exc:
            self._reasons.pop(sub_id, None)
            log.warning("status_reason of %s not written: %s: %s",
                        sub_id, type(exc).__name__, exc)  # fmt: skip

    def forget(self, sub_id: str) -> None:
        """The subscription was deleted: drop what is kept about it."""
        for kept in (self._logged_at, self._suppressed, self._reasons):
            kept.pop(sub_id, None)

    async def gone(self, entry: Entry, index: SubscriptionIndex) -> None:
        """The sink answered 410 Gone: the subscription is disabled, here at once (it
        matches nothing more) and in the store."""
        disabled = entry.sub.model_copy(update={"status": "DISABLED"})
        index.put(from_subscription_entry(disabled, entry.keys))
        try:
            await asyncio.to_thread(
                self.store.set_status, entry.id, "DISABLED", "the sink answered 410 Gone"
            )
            log.warning("subscription %s disabled: its sink answered 410 Gone", entry.id)
        except NotFound:
            pass
        except BlazarEventsError as exc:
            log.error("subscription %s answered 410 but could not be disabled: %s",
                      entry.id, exc.message)  # fmt: skip
