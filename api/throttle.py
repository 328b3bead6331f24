"""Rate limits of the routes that make the broker work (replay, test).

Per subscription: one Redis key per (route, subscription), set with NX and an expiry: whoever
sets it may go, everyone else waits until it expires. Per project: a counter per window of
``interval`` seconds for both routes together, so a project with many subscriptions cannot
fill the brokers' queue for everyone else. Shared by every worker and every API replica.
"""

from __future__ import annotations

from typing import Any

from blazar_events.errors import TooManyRequests
from blazar_events.store import SubscriptionStore
from blazar_events.streams import unavailable_on_outage

# INCR the window's counter, starting its expiry with the first request of the window.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('TTL', KEYS[1])}
"""


@unavailable_on_outage
def admit(store: SubscriptionStore, route: str, sub_id: str, interval: int) -> None:
    """Let one ``route`` request per ``interval`` seconds through for ``sub_id``, else 429."""
    if interval <= 0:
        return
    key = store.keys.throttle(route, sub_id)
    if store.client.set(key, b"1", nx=True, ex=interval):
        return
    ttl = int(store.client.ttl(key))  # type: ignore[arg-type]  # -2: expired since, -1: none
    raise TooManyRequests(
        f"{route}: at most one request per {interval} s for a subscription; retry later",
        retry_after=max(ttl, 1),
    )


@unavailable_on_outage
def admit_project(store: SubscriptionStore, project_id: str, limit: int, interval: int) -> None:
    """Let ``limit`` replay and test requests per ``interval`` seconds through for a
    project (its subscriptions together), else 429."""
    if interval <= 0 or limit <= 0:
        return
    key = store.keys.project_throttle(project_id)
    answer: Any = store.client.eval(_COUNT, 1, key, str(interval))
    count, ttl = answer
    if int(count) > limit:
        raise TooManyRequests(
            f"at most {limit} replay and test requests per {interval} s for project "
            f"{project_id}; retry later",
            retry_after=max(int(ttl), 1),
        )
