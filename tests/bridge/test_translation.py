"""The bridge's translation: every message becomes its records or one rejection, and no
credential survives into a rejection, whatever the body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from blazar_events import records, redaction
from blazar_events.records import KafkaRecord
from blazar_events.settings import EventSettings, KafkaSettings
from bridge.metrics import Metrics
from bridge.settings import BridgeSettings
from bridge.translation import AmqpMessage, Translator

FIXTURES = Path(__file__).parent.parent / "fixtures" / "blazar"


def translator() -> tuple[Translator, Metrics]:
    metrics = Metrics()
    kafka = KafkaSettings.load(topic="events", rejected_topic="rejected", state_topic="leases")
    return Translator(BridgeSettings.load(), kafka, EventSettings.load(), metrics), metrics


def test_foreign_notifications_produce_nothing_but_are_counted() -> None:
    under_test, metrics = translator()
    body = (FIXTURES / "foreign-nova-compute.instance.create.end.json").read_bytes()
    assert under_test.to_outgoing([AmqpMessage(tag=1, body=body)]) == []
    assert metrics.ignored._value.get() == 1
    assert metrics.received._value.get() == 1


def test_an_unexpected_failure_rejects_that_message_and_keeps_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    under_test, metrics = translator()
    original = records.to_record
    calls = iter(range(10))

    def flaky(event: Any) -> KafkaRecord:
        if next(calls) == 0:
            raise RuntimeError("a bug")
        return original(event)

    monkeypatch.setattr(records, "to_record", flaky)
    body = (FIXTURES / "v2-lease.create.json").read_bytes()
    outgoing = under_test.to_outgoing(
        [AmqpMessage(tag=1, body=body), AmqpMessage(tag=2, body=body)]
    )

    assert [item.topic for item in outgoing] == ["rejected", "events", "leases"]
    assert outgoing[0].record.header("blazar_events_reason") == b"internal-error"
    assert (
        metrics.registry.get_sample_value(
            "blazar_events_bridge_rejected_total", {"reason": "internal-error"}
        )
        == 1.0
    )


def test_a_field_of_a_megabyte_quoted_in_the_error_does_not_swell_the_rejection() -> None:
    message = json.loads(
        json.loads((FIXTURES / "v2-lease.create.json").read_text())["oslo.message"]
    )
    message["event_type"] = ["\u0085" * 400_000]  # repr() doubles it, JSON does not
    inner = json.dumps(message, ensure_ascii=False)
    body = json.dumps({"oslo.version": "2.0", "oslo.message": inner}, ensure_ascii=False).encode()
    assert len(body) < 1_000_000  # under max_body_bytes: translated, then rejected
    under_test, _ = translator()

    [item] = under_test.to_outgoing([AmqpMessage(tag=1, body=body)])

    assert item.record.header("blazar_events_reason") == b"invalid-event-type"
    assert sum(len(value) for _, value in item.record.headers) < 4096
    assert len(item.record.value) <= 64 * 1024 + 1024


def test_a_rejection_whose_body_cannot_be_written_is_parked_as_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(body: bytes) -> bytes:
        raise RecursionError("as json.loads raised on 200,000 nested arrays")

    monkeypatch.setattr(redaction, "redact_body", broken)
    under_test, metrics = translator()

    [item] = under_test.to_outgoing(
        [AmqpMessage(tag=1, body=b"[[[", routing_key="notifications.info")]
    )

    assert item.topic == "rejected"
    assert item.record.value == b""
    assert item.record.header("blazar_events_reason") == b"not-json"
    assert item.record.header("blazar_events_routing_key") == b"notifications.info"
    assert (
        metrics.registry.get_sample_value(
            "blazar_events_bridge_rejected_total", {"reason": "not-json"}
        )
        == 1.0
    )


@pytest.mark.parametrize(
    "garbled",
    [
        b'\\"\xfftrust_id\\": \\"gAAAAABtoken\\"',  # a name the pattern cannot read
        b'\\"trust_id\\":\xff \\"gAAAAABtoken\\"',  # a byte between name and value
        b'\\"_context_auth_token\\": \\"gAAAAABtoken\\"\\udc00',  # an escape of no character
    ],
)
def test_a_garbled_body_keeps_no_token_in_its_rejection(garbled: bytes) -> None:
    body = b'{"oslo.version": "2.0", "oslo.message": "{\\"payload\\": {' + garbled + b'}}"}'
    under_test, _ = translator()

    [item] = under_test.to_outgoing([AmqpMessage(tag=1, body=body)])

    assert item.record.header("blazar_events_reason") in {b"not-utf8", b"not-json"}
    assert b"gAAAAABtoken" not in item.record.value


def test_json_hidden_in_a_string_is_redacted_too() -> None:
    hidden = json.dumps({"_context_auth_token": "gAAAAABtoken", "trust_id": "t-1"})
    body = json.dumps({"publisher_id": "blazar.lease", "payload": hidden}).encode()
    under_test, _ = translator()

    [item] = under_test.to_outgoing([AmqpMessage(tag=1, body=body)])

    assert item.record.header("blazar_events_reason") == b"missing-message-id"
    assert b"gAAAAABtoken" not in item.record.value
    assert b"t-1" not in item.record.value


def fixture_body(name: str, lease_id: str) -> bytes:
    message = json.loads(json.loads((FIXTURES / name).read_text())["oslo.message"])
    message["payload"]["lease_id"] = lease_id
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(message)}).encode()


def test_the_state_topic_gets_each_leases_last_state_and_a_tombstone_on_delete() -> None:
    under_test, _ = translator()
    batch = [
        AmqpMessage(tag=1, body=fixture_body("v2-lease.create.json", "a")),
        AmqpMessage(tag=2, body=fixture_body("v2-lease.event.start_lease.json", "a")),
        AmqpMessage(tag=3, body=fixture_body("v2-lease.create.json", "b")),
        AmqpMessage(tag=4, body=fixture_body("v2-lease.delete.json", "b")),
        AmqpMessage(tag=5, body=b"junk"),
    ]

    states = {item.record.key: item for item in under_test.to_outgoing(batch) if item.state}

    assert set(states) == {b"a", b"b"}  # one per lease; nothing for the junk
    assert states[b"a"].topic == "leases"
    assert states[b"a"].record.header("ce_type") == b"org.openstack.blazar.lease.event.start_lease"
    assert states[b"b"].record.tombstone and states[b"b"].amqp.tag == 4
