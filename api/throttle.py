"""Per-subscription rate limits of the routes that make the broker work (replay, test).

One Redis key per (route, subscription), set with NX and an expiry: whoever sets it may go,
everyone else waits until it expires. Shared by every worker and every API replica.
"""

from __future__ import annotations

from blazar_events.errors import TooManyRequests
from blazar_events.store import SubscriptionStore
from blazar_events.streams import guard


@guard
def admit(store: SubscriptionStore, route: str, sub_id: str, interval: int) -> None:
    """Let one ``route`` request per ``interval`` seconds through for ``sub_id``, else 429."""
    if interval <= 0:
        return
    key = f"{store.prefix}:throttle:{route}:{sub_id}"
    if store.client.set(key, b"1", nx=True, ex=interval):
        return
    ttl = int(store.client.ttl(key))  # type: ignore[arg-type]  # -2: expired since, -1: none
    raise TooManyRequests(
        f"{route}: at most one request per {interval} s for a subscription; retry later",
        retry_after=max(ttl, 1),
    )
