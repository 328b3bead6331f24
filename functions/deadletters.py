"""Dead letters in Knative mode: Knative hands a given-up event to the function's dead-letter
route (the Trigger's ``deadLetterSink``), which sends it to the tenant's dead-letter sink
through the same guarded client as any delivery (DNS checked and pinned at connect time).

Knative's dispatcher would POST to a ``deadLetterSink.uri`` with no SSRF check at all, so the
tenant's URL never goes into the Trigger (:mod:`blazar_events.triggers`).
"""

from __future__ import annotations

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent

from blazar_events.subscription import Subscription
from delivery.request import Target


def to_dead_letter(event: BaseCloudEvent, sub: Subscription) -> BaseCloudEvent:
    """The letter as the standalone broker writes it: Knative's error extensions kept.

    ``knativeerrordest`` is set to the tenant's sink: Knative set it to the URI it called,
    the function's, whose token is no business of the tenant's dead-letter sink.
    """
    attributes = dict(event.get_attributes())
    attributes["knativeerrordest"] = sub.sink
    attributes["subscriptionid"] = sub.id
    return CloudEvent(attributes, event.get_data())


def to_target(sub: Subscription) -> Target | None:
    """Where the letter goes: signed, POSTed, binary mode, like the standalone broker's."""
    url = sub.delivery.deadLetterSink
    if not url:
        return None
    return Target(sub.id, url, timeout=sub.delivery.timeout_seconds)
