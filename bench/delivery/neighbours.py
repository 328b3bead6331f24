"""The bad neighbours of the delivery bench's neighbour rows: subscriptions in the healthy
subscribers' own project whose sinks or filters are hostile, each part alone or all together
(``hostile``), so that a cost beside them can be traced to the part that causes it."""

from __future__ import annotations

from collections.abc import Callable

from blazar_events.subscription import DeliverySpec, Subscription

PROJECT = "benchproject0000000000000000000001"

Neighbour = Callable[[str], Subscription]


def _hung(url: str) -> Subscription:
    spec = DeliverySpec(timeout="PT10S", retry=1)
    return Subscription(project_id=PROJECT, sink=f"{url}/hung", delivery=spec)


def _stalling(url: str) -> Subscription:
    spec = DeliverySpec(timeout="PT10S", retry=1)
    return Subscription(project_id=PROJECT, sink=f"{url}/stall", delivery=spec)


def _ordered_503(url: str) -> Subscription:
    spec = DeliverySpec(ordered=True, retry=5, backoffDelay="PT1S")
    return Subscription(project_id=PROJECT, sink=f"{url}/fail", delivery=spec)


def _expensive_filter(url: str) -> Subscription:
    # As costly as the API accepts: 15 LIKE patterns of underscores and percents under `any`.
    pattern = "%" + "_a" * 120 + "%"
    sql = " OR ".join(f"subject LIKE '{pattern}{n}'" for n in range(15))
    return Subscription(project_id=PROJECT, sink=f"{url}/filtered", filters=[{"sql": sql}])


NEIGHBOURS: dict[str, list[Neighbour]] = {
    "hung": [_hung],
    # the parts of the hostile neighbour, each alone
    "stall": [_stalling],
    "ordered503": [_ordered_503],
    "filter": [_expensive_filter],
    "hostile": [_hung, _stalling, _ordered_503, _expensive_filter],
}
DESCRIBED = {
    "hung": "1 hung subscriber",
    "stall": "a sink that stalls mid-head",
    "ordered503": "an ordered subscription whose sink answers 503",
    "filter": "a filter at the cost budget's edge",
    "hostile": "a hostile neighbour",
}
