"""Poison messages: bodies and AMQP properties that once stopped the bridge's consumer.

Each hostile message is followed by a valid notification: the hostile one must be parked
on the rejected topic (or, when only its AMQP properties are hostile, handled like any
other body), the valid one must arrive, and the consumer must never have restarted.
"""

from __future__ import annotations

import copy
import hashlib
import struct
import uuid
from collections.abc import Callable

from bridge.service import Bridge
from tests.bridge.conftest import (
    BlazarNotifier,
    KafkaReader,
    Route,
    fixture_message,
    publish_raw,
    publish_with_properties,
    running,
    to_event,
)

TEMPLATE = fixture_message("v2-lease.event.start_lease.json")


def notify_one(notifier: BlazarNotifier) -> str:
    fixture = copy.deepcopy(TEMPLATE)
    fixture["payload"]["lease_id"] = lease = str(uuid.uuid4())
    notifier.notify(fixture)
    return lease


def subjects(reader: KafkaReader) -> set[str]:
    return {str(to_event(record).get_subject()) for record in reader.records}


def test_a_200000_deep_json_array_is_parked_and_the_next_notification_flows(
    route: Route,
    notifier: BlazarNotifier,
    reader: Callable[[str], KafkaReader],
    start_bridge: Callable[..., Bridge],
) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    events_topic, rejected_topic = reader(route.topic), reader(route.rejected_topic)
    bridge = start_bridge()
    with running(bridge):
        publish_raw(route.amqp_url, route.exchange, [deep])
        lease = notify_one(notifier)
        events_topic.read(1)
        [parked] = rejected_topic.read(1)

    assert subjects(events_topic) == {lease}
    headers = dict(parked.headers)
    assert headers["blazar_events_reason"] == b"not-json"
    assert headers["blazar_events_original_size"] == str(len(deep)).encode()
    assert headers["blazar_events_body_sha256"] == hashlib.sha256(deep).hexdigest().encode()
    assert bridge.metrics.amqp_reconnects._value.get() == 0


def _shortstr(value: bytes) -> bytes:
    return bytes([len(value)]) + value


def _nested_table(depth: int) -> bytes:
    """An AMQP field table holding a table holding a table ... ``depth`` levels deep."""
    inner = b""
    for _ in range(depth):
        inner = _shortstr(b"k") + b"F" + struct.pack(">I", len(inner)) + inner
    return struct.pack(">I", len(inner)) + inner


def _table(key: bytes, kind: bytes, value: bytes) -> bytes:
    entry = _shortstr(key) + kind + value
    return struct.pack(">I", len(entry)) + entry


# Property flags of basic.properties, as AMQP 0-9-1 numbers them (bit 15 first).
CONTENT_TYPE, APPLICATION_HEADERS = 1 << 15, 1 << 13
HOSTILE_PROPERTIES = {
    "content type not UTF-8": struct.pack(">H", CONTENT_TYPE) + _shortstr(b"\xff\xfe/json"),
    "header timestamp past year 9999": struct.pack(">H", APPLICATION_HEADERS)
    + _table(b"sent", b"T", struct.pack(">Q", 2**64 - 1)),
    "headers nested 15,000 deep": struct.pack(">H", APPLICATION_HEADERS) + _nested_table(15_000),
}


def test_amqp_properties_py_amqp_cannot_decode_do_not_stop_the_consumer(
    route: Route,
    notifier: BlazarNotifier,
    reader: Callable[[str], KafkaReader],
    start_bridge: Callable[..., Bridge],
) -> None:
    events_topic = reader(route.topic)
    bridge = start_bridge()
    sent = []
    with running(bridge):
        for properties in HOSTILE_PROPERTIES.values():
            # A valid notification body under hostile properties: the body is what counts.
            body = (
                b'{"oslo.version": "2.0", "oslo.message": '
                + orjson_quote(copy.deepcopy(TEMPLATE), lease := str(uuid.uuid4()))
                + b"}"
            )
            publish_with_properties(route.amqp_url, route.exchange, body, properties)
            sent.append(lease)
            sent.append(notify_one(notifier))
        events_topic.read(len(sent))

    assert subjects(events_topic) == set(sent)
    assert bridge.metrics.amqp_reconnects._value.get() == 0
    dropped = bridge.metrics.registry.get_sample_value(
        "blazar_events_bridge_poison_total", {"kind": "amqp-properties"}
    )
    assert dropped == len(HOSTILE_PROPERTIES)  # each was one py-amqp could not decode


def orjson_quote(message: dict[str, object], lease: str) -> bytes:
    """The oslo.message string of ``message`` with its lease id set, JSON-quoted."""
    import json

    payload = message["payload"]
    assert isinstance(payload, dict)
    payload["lease_id"] = lease
    message["message_id"] = str(uuid.uuid4())
    return json.dumps(json.dumps(message)).encode()
