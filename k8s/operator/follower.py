"""Triggers follow the store: the change feed for each change at once, a full sync now and then.

The feed (a Redis Stream written in the same transaction as each record) makes an API-created
subscription routable within about a second; the periodic :meth:`Reconciler.sync` repairs
what the feed cannot see (a Trigger deleted by hand, a feed trimmed while the operator was
down).
"""

from __future__ import annotations

import logging
import threading
import time

from blazar_events.errors import BlazarEventsError
from k8s.operator.reconcile import Reconciler

log = logging.getLogger(__name__)

BLOCK_MS = 1000


def follow_once(reconciler: Reconciler, last_id: str, block_ms: int = BLOCK_MS) -> str:
    """Route every subscription changed after ``last_id``; returns the new position."""
    for stream_id, _op, sub_id in reconciler.store.changes(last_id, block_ms=block_ms):
        if sub_id:
            reconciler.route(sub_id)
        last_id = stream_id
    return last_id


def follow_forever(reconciler: Reconciler, stop: threading.Event) -> None:
    last_id, next_sync = "", 0.0
    while not stop.is_set():
        try:
            if time.monotonic() >= next_sync or not last_id:
                # Read the position first: a change made during the sync is then seen twice,
                # never missed.
                last_id = reconciler.store.last_change_id()
                reconciler.sync()
                next_sync = time.monotonic() + reconciler.settings.resync_seconds
            last_id = follow_once(reconciler, last_id)
        except (BlazarEventsError, OSError) as exc:
            log.warning("following the store failed (%s); retrying", exc)
            last_id = ""  # start over with a full sync
            stop.wait(5.0)
        except Exception:  # e.g. the API server refusing a call: log it, keep the loop alive
            log.exception("routing a subscription failed; retrying with a full sync")
            last_id = ""
            stop.wait(5.0)
