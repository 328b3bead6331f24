"""CloudEvent <-> Kafka record conversion (binary content mode, key = lease id)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cloudevents.core.bindings import kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from blazar_events import events, records
from blazar_events.errors import NotificationRejected

FIXTURES = Path(__file__).parent.parent / "fixtures" / "blazar"


def lease_event(name: str = "v2-lease.event.start_lease.json") -> CloudEvent:
    event = events.to_cloudevent(events.from_body((FIXTURES / name).read_bytes()))
    assert event is not None
    return event


def test_a_record_is_binary_mode_keyed_by_the_lease() -> None:
    record = records.to_record(lease_event())
    headers = dict(record.headers)
    assert record.key == b"9a7b0f2e-3c41-4f8e-9d55-1c2b3a4d5e6f"
    assert headers["ce_id"] == b"3f9d4c2a-8b1e-4f7a-9c6d-000000000003"
    assert headers["ce_type"] == b"org.openstack.blazar.lease.event.start_lease"
    assert headers["ce_source"] == b"/openstack/blazar/blazar.lease"
    assert headers["ce_subject"] == b"9a7b0f2e-3c41-4f8e-9d55-1c2b3a4d5e6f"
    assert headers["ce_time"] == b"2026-07-10T12:00:08.104233Z"
    assert headers["content-type"] == b"application/json"
    assert headers["ce_partitionkey"] == record.key
    assert headers["ce_leasestatus"] == b"ACTIVE"
    assert json.loads(record.value)["lease_id"] == "9a7b0f2e-3c41-4f8e-9d55-1c2b3a4d5e6f"
    assert record.header("ce_projectid") == b"aa45f56901ef45ee95e3d211097c0ea3"


@pytest.mark.parametrize(
    "name", ["v2-lease.create.json", "legacy-lease.delete.json", "v1-lease.event.end_lease.json"]
)
def test_from_record_gives_back_the_same_event(name: str) -> None:
    event = lease_event(name)
    record = records.to_record(event)
    back = records.from_record(record.key, record.value, record.headers)
    assert back.get_attributes() == event.get_attributes()
    assert back.get_data() == event.get_data()


def test_from_record_reads_what_the_sdk_writes_in_either_mode() -> None:
    event = lease_event()
    binary = kafka.to_binary(event, JSONFormat())
    structured = kafka.to_structured(event, JSONFormat())
    for message in (binary, structured):
        back = records.from_record(message.key, message.value, message.headers)
        assert back.get_id() == event.get_id()
        assert back.get_extension("leaseid") == event.get_extension("leaseid")


def test_from_record_accepts_headers_as_kafka_python_gives_them() -> None:
    record = records.to_record(lease_event())
    back = records.from_record(record.key, record.value, list(record.headers))
    assert back.get_subject() == "9a7b0f2e-3c41-4f8e-9d55-1c2b3a4d5e6f"


@pytest.mark.parametrize(
    ("value", "headers"),
    [
        (b"not json", [("content-type", b"application/cloudevents+json")]),
        (b"{}", [("ce_id", b"x"), ("ce_specversion", b"1.0")]),  # no source, no type
        (b"{}", [("ce_id", b"\xff"), ("ce_source", b"/s"), ("ce_type", b"t")]),
    ],
)
def test_a_record_without_a_cloudevent_is_rejected(
    value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    with pytest.raises(NotificationRejected) as caught:
        records.from_record(None, value, headers)
    assert caught.value.reason == "invalid-record"


def test_a_rejected_record_carries_the_reason_and_the_body() -> None:
    record = records.to_rejected_record(
        b"\xffbody",
        "not-utf8",
        "the body is not UTF-8",
        origin={"routing_key": "notifications.info"},
    )
    assert record.key is None
    assert record.value == b"\xffbody"
    assert record.header("blazar_events_reason") == b"not-utf8"
    assert record.header("blazar_events_error") == b"the body is not UTF-8"
    assert record.header("blazar_events_routing_key") == b"notifications.info"
