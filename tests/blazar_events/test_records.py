"""CloudEvent <-> Kafka record conversion (binary content mode, key = lease id)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cloudevents.core.bindings import kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from blazar_events import events, records, redaction
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


BINARY = [("ce_specversion", b"1.0"), ("ce_id", b"x"), ("ce_source", b"/s"), ("ce_type", b"t"),
          ("content-type", b"application/json")]  # fmt: skip
STRUCTURED = [("content-type", b"application/cloudevents+json")]


def nested(opening: str, depth: int, inner: str) -> str:
    closing = opening.translate(str.maketrans("[{", "]}"))[::-1]
    return opening * depth + inner + closing * depth if opening else inner


@settings(max_examples=60, deadline=None)
@given(
    depth=st.integers(min_value=redaction.MAX_DEPTH + 1, max_value=200_000),
    opening=st.sampled_from(["[", '{"a":[', '[{"b":']),
    inner=st.sampled_from(["", "1", "NaN", '"x"']),
    structured=st.booleans(),
)
def test_data_nested_deeper_than_a_notification_may_is_an_invalid_record(
    depth: int, opening: str, inner: str, structured: bool
) -> None:
    """Whatever another pod wrote to the topic, reading it either gives an event or says why
    not: never a RecursionError (which stopped every replay over that record), and never data
    deeper than the bridge lets through (which the JSON writers downstream recurse over)."""
    data = nested(opening, depth // max(1, opening.count("[") + opening.count("{")), inner)
    if structured:
        value = '{"specversion":"1.0","id":"x","source":"/s","type":"t","data":' + data + "}"
        headers = STRUCTURED
    else:
        value, headers = data, BINARY
    try:
        event = records.from_record(None, value.encode(), headers)
    except NotificationRejected as exc:
        assert exc.reason == "invalid-record"
    else:
        assert not redaction.too_deep(event.get_data())


def test_data_as_deep_as_a_notification_may_be_is_read() -> None:
    data = b"[" * redaction.MAX_DEPTH + b"]" * redaction.MAX_DEPTH
    event = records.from_record(None, data, BINARY)
    assert not redaction.too_deep(event.get_data()) and event.get_data() is not None
