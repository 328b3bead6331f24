"""The pure side of lease snapshots: state records, snapshot events, who sees which."""

from __future__ import annotations

from typing import Any

import pytest
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given
from hypothesis import strategies as st

from blazar_events import events, records
from blazar_events.errors import NotificationRejected
from blazar_events.eventtypes import SNAPSHOT_TYPE
from blazar_events.leasestate import (
    LatestOffsets,
    snapshot_matcher,
    to_snapshot,
    to_state_record,
)
from blazar_events.matching import evaluate, to_attributes
from blazar_events.subscription import Subscription
from tests.bridge.conftest import fixture_message

START = events.to_cloudevent(fixture_message("v2-lease.event.start_lease.json"))
DELETE = events.to_cloudevent(fixture_message("v2-lease.delete.json"))
PROJECT = "aa45f56901ef45ee95e3d211097c0ea3"


def sub(**fields: Any) -> Subscription:
    return Subscription(**{"project_id": PROJECT, "sink": "http://10.0.0.1/", **fields})


def test_a_delete_is_a_tombstone_under_the_lease_key_and_anything_else_the_record_itself() -> None:
    assert START is not None and DELETE is not None
    start = records.to_record(START)
    assert to_state_record(start) == start
    tombstone = to_state_record(records.to_record(DELETE))
    assert tombstone.tombstone and tombstone.key == records.to_record(DELETE).key


def test_a_snapshot_is_addressed_and_its_id_names_subscription_lease_and_state() -> None:
    assert START is not None
    mine, other = sub(), sub()
    first, again = to_snapshot(START, mine), to_snapshot(START, mine)
    assert first.get_type() == SNAPSHOT_TYPE
    assert first.get_extension("subscriptionid") == mine.id
    assert first.get_id() == again.get_id() != to_snapshot(START, other).get_id()
    newer = CloudEvent({**START.get_attributes(), "id": "another-message"}, START.get_data())
    assert to_snapshot(newer, mine).get_id() != first.get_id()
    data: Any = first.get_data()
    assert data["lease"] == START.get_data() and data["last_event"]["id"] == START.get_id()


def test_a_state_without_lease_or_project_is_refused() -> None:
    assert START is not None
    attributes = {k: v for k, v in START.get_attributes().items() if k != "projectid"}
    with pytest.raises(NotificationRejected):
        to_snapshot(CloudEvent(attributes, {}), sub())


@pytest.mark.parametrize(
    ("fields", "sees"),
    [
        ({}, True),
        ({"types": ["lease.event.end_lease"]}, True),  # asked for it: types do not apply
        ({"project_id": "someone-else"}, False),
        ({"project_id": "*"}, True),
        ({"lease_id": "another-lease"}, False),
        ({"filters": [{"exact": {"leasestatus": "PENDING"}}]}, False),
        ({"filters": [{"exact": {"leasestatus": "ACTIVE"}}]}, True),
        ({"status": "DISABLED"}, False),
    ],
)
def test_who_sees_a_lease_state(fields: dict[str, Any], sees: bool) -> None:
    assert START is not None
    subscription = sub(**fields)
    event = to_snapshot(START, subscription)
    assert evaluate(snapshot_matcher(subscription), to_attributes(event)).matched is sees


@given(st.lists(st.tuples(st.sampled_from([b"a", b"b", b"c", None]), st.booleans()), max_size=40))
def test_latest_offsets_keep_each_live_keys_last(log: list[tuple[bytes | None, bool]]) -> None:
    latest = LatestOffsets()
    for offset, (key, deleted) in enumerate(log):
        latest.note(key, offset, deleted)
    expected: dict[bytes, int] = {}
    for offset, (key, deleted) in enumerate(log):
        if key is None:
            continue
        if deleted:
            expected.pop(key, None)
        else:
            expected[key] = offset
    kept = {key for offset, (key, _) in enumerate(log) if latest.is_latest(key, offset)}
    assert kept == set(expected) and len(latest) == len(expected)
