"""Which events a subscription receives: one predicate over CloudEvent attributes.

The standalone broker evaluates it; the Trigger renderer expresses the same conditions as
Knative filters. Every condition is ANDed:

* the tenant rule — unless the subscription is for all projects (``'*'``, which only an admin
  can create), the event's ``projectid`` must equal the subscription's ``project_id``; no filter
  a member writes can widen this;
* ``types`` (empty = every type), ``lease_id`` (the ``leaseid`` extension), then ``filters``;
* an *addressed* event, one carrying the ``subscriptionid`` extension (a reminder, a lease
  snapshot), is for that one subscription only: every other subscription's matcher says no,
  and the addressed one still applies all of the above (its tenant rule included);
* a DISABLED subscription matches nothing.

A filter is tenant code. A compiled matcher returns a bool or raises
:class:`~blazar_events.errors.FilterError`, and :func:`evaluate` turns even that into a
:class:`Verdict`, so that a caller matching one event against many subscriptions records a
failure on the one subscription it belongs to and goes on with the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final, NamedTuple

from cloudevents.core.base import BaseCloudEvent

from blazar_events.errors import FilterError, InvalidFilter
from blazar_events.filters import from_list
from blazar_events.filters.base import show
from blazar_events.filters.factory import total
from blazar_events.subscription import ALL_PROJECTS, Subscription

Matcher = Callable[[Mapping[str, str]], bool]

ADDRESS: Final = "subscriptionid"
"""The extension that addresses an event to one subscription. Only this system's own producers
(the reminder scheduler, the snapshot writer) set it; the bridge builds every attribute of a
Blazar event itself, so nothing a bus producer sends can carry it."""


def to_attributes(event: BaseCloudEvent) -> dict[str, str]:
    """The event's attributes as strings, as filters see them (time in RFC 3339, ``Z``);
    the broker and the function service read an event the same way."""
    result: dict[str, str] = {}
    for name, value in event.get_attributes().items():
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        result[name] = str(value)
    return result


def _never(attributes: Mapping[str, str]) -> bool:
    return False


def compile_subscription(sub: Subscription) -> Matcher:
    """The predicate of ``sub`` over an event's attributes (all values as strings)."""
    if sub.status != "ACTIVE":
        return _never
    project = None if sub.project_id == ALL_PROJECTS else sub.project_id
    types = frozenset(sub.types)
    lease = sub.lease_id
    own_id = sub.id
    try:
        user_filters = from_list(sub.filters)
    except InvalidFilter as exc:
        # Stored before a limit it breaks was set: it fails on each event it would have
        # judged, and the failure is reported on it.
        user_filters = _failing(f"the filters no longer compile: {exc.message}")

    def match(attributes: Mapping[str, str]) -> bool:
        address = attributes.get(ADDRESS)
        if address is not None and address != own_id:
            return False
        if project is not None and attributes.get("projectid") != project:
            return False
        if types and attributes.get("type") not in types:
            return False
        if lease is not None and attributes.get("leaseid") != lease:
            return False
        return user_filters(attributes)

    return total(match)


def _failing(message: str) -> Matcher:
    def match(attributes: Mapping[str, str]) -> bool:
        raise FilterError(message)  # a new one each time: a raised instance keeps its traceback

    return match


class Verdict(NamedTuple):
    """Whether an event matched a subscription; ``error`` says why its filter could not say."""

    matched: bool
    error: FilterError | None = None


def evaluate(match: Matcher, attributes: Mapping[str, str]) -> Verdict:
    """One event against one compiled subscription; never raises (short of BaseException).

    ``error`` is set when the subscription's filter failed: the event does not match, and the
    caller counts, logs and shows ``error.message`` on that subscription (``status_reason``).
    """
    try:
        return Verdict(match(attributes) is True)
    except FilterError as exc:
        return Verdict(False, exc)
    except Exception as exc:  # a matcher that is not ours, or a bug: still this one's only
        return Verdict(False, FilterError(f"the filter could not be evaluated: {show(repr(exc))}"))
