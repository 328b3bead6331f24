"""Which events a subscription receives: one predicate over CloudEvent attributes.

The standalone broker evaluates it; the Trigger renderer expresses the same conditions as
Knative filters. Every condition is ANDed:

* the tenant rule — unless the subscription is for all projects (``'*'``, which only an admin
  can create), the event's ``projectid`` must equal the subscription's ``project_id``; no filter
  a member writes can widen this;
* ``types`` (empty = every type), ``lease_id`` (the ``leaseid`` extension), then ``filters``;
* a DISABLED subscription matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from blazar_events.filters import from_list
from blazar_events.subscription import ALL_PROJECTS, Subscription

Matcher = Callable[[Mapping[str, str]], bool]


def _never(attributes: Mapping[str, str]) -> bool:
    return False


def compile_subscription(sub: Subscription) -> Matcher:
    """The predicate of ``sub`` over an event's attributes (all values as strings)."""
    if sub.status != "ACTIVE":
        return _never
    project = None if sub.project_id == ALL_PROJECTS else sub.project_id
    types = frozenset(sub.types)
    lease = sub.lease_id
    user_filters = from_list(sub.filters)

    def match(attributes: Mapping[str, str]) -> bool:
        if project is not None and attributes.get("projectid") != project:
            return False
        if types and attributes.get("type") not in types:
            return False
        if lease is not None and attributes.get("leaseid") != lease:
            return False
        return user_filters(attributes)

    return match
