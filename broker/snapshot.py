"""Snapshot requests in the standalone broker: one event per live lease, handed straight to
the subscription's lane (:mod:`blazar_events.statetopic` reads the lease state topic)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from cloudevents.core.base import BaseCloudEvent

from blazar_events.errors import FilterError
from blazar_events.leasestate import snapshot_matcher, to_snapshot
from blazar_events.matching import evaluate, to_attributes
from blazar_events.settings import KafkaSettings
from blazar_events.statetopic import from_state_topic
from blazar_events.subscription import Subscription

log = logging.getLogger(__name__)


def send(
    kafka: KafkaSettings,
    sub: Subscription,
    source_prefix: str,
    hand: Callable[[BaseCloudEvent], bool],
    failed: Callable[[BaseCloudEvent, FilterError], None],
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Hand ``sub`` a snapshot event for each live lease it sees; how many were handed.

    ``hand`` blocks until the broker has room for the next (it returns False when the broker
    stops); a lease whose state cannot be read, or that the subscription's filter fails on,
    is skipped (the latter reported through ``failed``) and the request goes on.
    """
    match = snapshot_matcher(sub)
    count = 0
    for state in from_state_topic(kafka, stop):
        try:
            event = to_snapshot(state, sub, source_prefix)
            attributes = to_attributes(event)
        except Exception as exc:
            log.warning("snapshot skips a lease state: %s", exc)
            continue
        verdict = evaluate(match, attributes)
        if verdict.error is not None:
            failed(event, verdict.error)
        if verdict.matched and hand(event):
            count += 1
    return count
