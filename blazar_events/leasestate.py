"""The lease state topic and the snapshot events made from it — pure.

Beside each lease event, the bridge writes the same record to a compacted topic keyed by
lease id (``[kafka] state_topic``), and a tombstone (a null value) for ``lease.delete``:
Kafka's compaction then keeps, per lease, its newest event, which carries the whole lease.
A subscription asks for that state (``initial_state`` on create, ``POST .../snapshot``) and
gets one ``org.openstack.blazar.lease.snapshot`` event per live lease it may see.

A snapshot event is *addressed*: it carries the ``subscriptionid`` extension, so it is for
that one subscription only (the tenant rule still applies), in the broker and in every
Trigger alike. Its id is derived from (subscription, lease, id of the event the state came
from): asking again while nothing changed sends the same ids, which a subscriber that
dedupes on ``webhook-id`` recognises.
"""

from __future__ import annotations

import uuid
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent

from blazar_events.errors import NotificationRejected
from blazar_events.eventtypes import SNAPSHOT_TYPE, TYPE_PREFIX
from blazar_events.matching import Matcher, compile_subscription
from blazar_events.records import KafkaRecord
from blazar_events.subscription import Subscription

DELETED_TYPE = TYPE_PREFIX + "lease.delete"
_DELETED = DELETED_TYPE.encode()
ADDRESS = "subscriptionid"  # the extension naming the one subscription an event is for
# Fixed for good: snapshot ids must not change across releases, or repeats look new.
_NAMESPACE = uuid.UUID("0b9f8c1e-6a52-4b8e-9d0c-5e2b7c4a1f30")


def to_state_record(record: KafkaRecord) -> KafkaRecord:
    """What the state topic gets for an event's record (binary mode): the same record, or a
    tombstone under the same key when the lease is being deleted."""
    if record.header("ce_type") == _DELETED:
        return to_tombstone(record.key)
    return record


def to_tombstone(key: bytes | None) -> KafkaRecord:
    return KafkaRecord(key=key, value=b"", headers=(), tombstone=True)


def snapshot_id(sub_id: str, lease_id: str, version: str) -> str:
    """The same (subscription, lease, state) always gives the same id."""
    return str(uuid.uuid5(_NAMESPACE, "\n".join((sub_id, lease_id, version))))


def to_snapshot(
    state: BaseCloudEvent, sub: Subscription, source_prefix: str = "/openstack/blazar"
) -> CloudEvent:
    """The snapshot event of one lease state for ``sub``.

    Raises NotificationRejected (``invalid-record``) for a state without a lease or project:
    anyone able to write the topic could put one there.
    """
    lease = _text(state.get_extension("leaseid") or state.get_subject())
    project = _text(state.get_extension("projectid"))
    if not lease or not project:
        raise NotificationRejected("invalid-record", "a lease state without leaseid/projectid")
    data: Any = state.get_data()
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": snapshot_id(sub.id, lease, state.get_id()),
        "source": f"{source_prefix.rstrip('/')}/blazar-events",
        "type": SNAPSHOT_TYPE,
        "subject": lease,
        "time": state.get_time(),
        "datacontenttype": "application/json",
        "projectid": project,
        "leaseid": lease,
        "partitionkey": lease,
        ADDRESS: sub.id,
    }
    for name in ("userid", "leasestatus"):
        value = _text(state.get_extension(name))
        if value:
            attributes[name] = value
    time = state.get_time()
    payload = {
        "subscription_id": sub.id,
        "lease": data if isinstance(data, dict) else {},
        "last_event": {
            "id": state.get_id(),
            "type": state.get_type(),
            "time": time.isoformat().replace("+00:00", "Z") if time else None,
        },
    }
    return CloudEvent(attributes, payload)


def snapshot_matcher(sub: Subscription) -> Matcher:
    """Which snapshot events ``sub`` receives: its tenant rule, ``lease_id`` and ``filters``,
    judged on the snapshot event itself; its ``types`` do not apply (it asked for these)."""
    return compile_subscription(sub.model_copy(update={"types": []}))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


class LatestOffsets:
    """Per partition of the state topic, the offset of each lease's newest record.

    The topic is compacted only now and then (never its active segment), so it may still
    hold older states of a lease, and states before a tombstone. A reader notes every
    record's (key, offset), then reads again and keeps only the offsets found here: memory
    is one entry per live lease of the partition, never the records themselves.
    """

    def __init__(self) -> None:
        self._offsets: dict[bytes, int] = {}

    def note(self, key: bytes | None, offset: int, deleted: bool) -> None:
        if key is None:
            return  # not a lease's record: never served
        if deleted:
            self._offsets.pop(key, None)
        else:
            self._offsets[key] = offset

    def is_latest(self, key: bytes | None, offset: int) -> bool:
        return key is not None and self._offsets.get(key) == offset

    def __len__(self) -> int:
        return len(self._offsets)
