"""What the function needs from the store: the subscription, its secrets, and the record of
each attempt (the delivery log; a 410 disables the subscription, visible in the API).

Blocking (redis-py); async callers run it in a thread.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping

from blazar_events.errors import PreconditionFailed
from blazar_events.matching import Matcher, compile_subscription
from blazar_events.store import SubscriptionStore
from blazar_events.streams import unavailable_on_outage
from blazar_events.subscription import Subscription
from delivery.outcomes import Attempt, Delivered, Gone
from functions.receipts import Receipts

log = logging.getLogger(__name__)

ATTEMPT_COUNT_TTL = 7 * 24 * 3600  # longer than any retry schedule Knative allows
MAX_MATCHERS = 10_000  # compiled subscriptions kept; one per subscription, so the quota's size


class Subscribers:
    def __init__(self, store: SubscriptionStore, receipts: Receipts | None = None) -> None:
        self.store = store
        self.receipts = Receipts(store.keys) if receipts is None else receipts
        self._matchers: OrderedDict[tuple[str, int], Matcher] = OrderedDict()
        self._noted: dict[str, tuple[int, str]] = {}  # the reason written for a version

    def matches(self, sub: Subscription, attributes: Mapping[str, str]) -> bool:
        """Whether ``sub`` receives the event: the tenant rule, types, lease and filters.

        The Trigger's filters should have decided already; this is the function's own check,
        so that a Knative that ignores ``spec.filters`` (older than 1.12, or the
        ``new-trigger-filters`` feature turned off) routes every event to every subscriber
        and still no project receives another's leases. Compiled once per version.
        """
        key = (sub.id, sub.version)
        matcher = self._matchers.get(key)
        if matcher is None:
            matcher = compile_subscription(sub)
            self._matchers[key] = matcher
            if len(self._matchers) > MAX_MATCHERS:
                self._matchers.popitem(last=False)
        else:
            self._matchers.move_to_end(key)
        return matcher(attributes)

    def note(self, sub: Subscription, reason: str) -> None:
        """Show ``reason`` on the subscription (its ``status_reason``, as the broker does),
        written once per distinct reason: a filter failing on every event costs one write."""
        if sub.status_reason == reason or self._noted.get(sub.id) == (sub.version, reason):
            return
        self._noted[sub.id] = (sub.version, reason)
        if len(self._noted) > MAX_MATCHERS:
            self._noted.pop(next(iter(self._noted)))
        try:
            # Only on the version whose filters failed: the tenant may have replaced them.
            self.store.set_status_reason(sub.id, reason, expected_version=sub.version)
        except PreconditionFailed:
            return
        except Exception as exc:  # deleted meanwhile, or Redis down: the log has it
            log.warning("status_reason of %s not written: %s: %s", sub.id,
                        type(exc).__name__, exc)  # fmt: skip

    def get(self, sub_id: str) -> tuple[Subscription, list[str]]:
        """The subscription and the secrets to sign with now (NotFound if it was deleted)."""
        return self.store.get(sub_id), self.store.get_keys(sub_id).active()

    @unavailable_on_outage
    def begin(self, sub_id: str, event_id: str, identity: str) -> tuple[int, bool]:
        """The attempt's number, and whether this delivery has a receipt (sent already).

        Knative retries by calling again without saying which attempt it is; a counter per
        (subscription, event) in Redis numbers them for the delivery log: 1 on the first
        attempt, 2 on the next... The receipt is looked up in the same round trip.
        """
        key = self.store.keys.attempts(sub_id, event_id)
        with self.store.client.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, ATTEMPT_COUNT_TTL)
            if self.receipts.enabled:
                self.receipts.check(pipe, sub_id, identity)
            number, _, *score = pipe.execute()
        sent = bool(score) and self.receipts.found(score[0])
        return int(number), sent

    @unavailable_on_outage
    def record(
        self, sub_id: str, attempt: Attempt, event_id: str, event_type: str, identity: str = ""
    ) -> None:
        """The receipt (after a 2xx: it is what stops a second send) and the delivery log
        entry in one round trip; a 410 disables the subscription."""
        if isinstance(attempt.outcome, Gone):
            disable(self.store, sub_id)
        with self.store.client.pipeline(transaction=True) as pipe:
            if identity and self.receipts.enabled and isinstance(attempt.outcome, Delivered):
                self.receipts.write(pipe, sub_id, identity)
            self.store.queue_delivery(pipe, sub_id, attempt.to_log(event_id, event_type))
            pipe.execute()


def record(
    store: SubscriptionStore, sub_id: str, attempt: Attempt, event_id: str, event_type: str
) -> None:
    """Append the attempt to the delivery log; disable the subscription if its sink is gone."""
    if isinstance(attempt.outcome, Gone):
        disable(store, sub_id)
    store.append_delivery(sub_id, attempt.to_log(event_id, event_type))


def disable(store: SubscriptionStore, sub_id: str) -> None:
    store.set_status(sub_id, "DISABLED", "the sink answered 410 Gone")
    log.warning("subscription %s disabled: its sink answered 410 Gone", sub_id)
