"""The bridge against real RabbitMQ and Kafka: what a subscriber and an operator would see."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import oslo_messaging
from cloudevents.core.bindings import kafka as ce_kafka
from oslo_config import cfg

from bridge.health import HealthServer
from bridge.service import Bridge
from tests.bridge.conftest import (
    BlazarNotifier,
    KafkaReader,
    Route,
    blazar_fixtures,
    fixture_message,
    malformed_bodies,
    publish_raw,
    running,
)

SECRETS = (b"trust_id", b"_context_", b"b442a580b9504ababf305bf2b4c49512", b"gAAAAABfake")


class Recorder:
    """An oslo.messaging notification endpoint, as Ceilometer would run in its own pool."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def info(
        self,
        ctxt: dict[str, Any],
        publisher_id: str,
        event_type: str,
        payload: dict[str, Any],
        metadata: dict[str, Any],
    ) -> None:
        with self.lock:
            self.messages.append(
                {"publisher_id": publisher_id, "event_type": event_type, "payload": payload}
                | metadata
            )


def start_second_pool(route: Route, tmp_path: Path) -> tuple[Recorder, Any]:
    conf = cfg.ConfigOpts()
    conf([], project="ceilometer")
    transport = oslo_messaging.get_notification_transport(conf, url=route.amqp_url)
    recorder = Recorder()
    listener = oslo_messaging.get_notification_listener(
        transport,
        [oslo_messaging.Target(topic="notifications", exchange=route.exchange)],
        [recorder],
        executor="threading",
        pool=route.pool + "-ceilometer",
    )
    listener.start()
    return recorder, (listener, transport)


def stop_second_pool(handle: Any) -> None:
    listener, transport = handle
    listener.stop()
    listener.wait()
    transport.cleanup()


def publish_all_fixtures(route: Route, notifier: BlazarNotifier, tmp_path: Path) -> list[str]:
    """Every Blazar fixture through oslo.messaging (v1 ones through the old `messaging`
    driver) plus a Nova notification; returns the Blazar event types sent."""
    sent = []
    legacy_driver = BlazarNotifier(
        route.amqp_url, route.exchange, tmp_path / "v1", driver="messaging"
    )
    nova = BlazarNotifier(
        route.amqp_url, route.exchange, tmp_path / "nova", publisher_id="compute.host-17"
    )
    try:
        for name in blazar_fixtures():
            fixture = fixture_message(name)
            (legacy_driver if name.startswith("v1-") else notifier).notify(fixture)
            sent.append(fixture["event_type"])
        nova.notify(fixture_message("foreign-nova-compute.instance.create.end.json"))
    finally:
        legacy_driver.close()
        nova.close()
    return sent


def test_every_fixture_arrives_as_a_contract_1_cloudevent_and_ceilometer_still_gets_all(
    route: Route,
    notifier: BlazarNotifier,
    reader: Callable[[str], KafkaReader],
    start_bridge: Callable[..., Bridge],
    tmp_path: Path,
) -> None:
    recorder, second_pool = start_second_pool(route, tmp_path)
    events_topic = reader(route.topic)
    bridge = start_bridge()
    try:
        with running(bridge):
            sent = publish_all_fixtures(route, notifier, tmp_path)
            records = events_topic.read(len(sent))
            records = events_topic.settle(1.0)
    finally:
        stop_second_pool(second_pool)

    # The other pool got every message, the Nova one included: the bridge stole nothing.
    assert len(recorder.messages) == len(sent) + 1
    originals = {m["message_id"]: m for m in recorder.messages}
    assert len(records) == len(sent)  # the Nova notification was ignored, not forwarded
    assert bridge.metrics.ignored._value.get() == 1
    for record in records:
        message = ce_kafka.KafkaMessage(
            headers=dict(record.headers), key=record.key, value=record.value
        )
        event = ce_kafka.from_binary_event(message)  # the SDK's own parser
        original = originals[event.get_id()]
        payload = original["payload"]
        stamp = datetime.strptime(original["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
        assert event.get_specversion() == "1.0"
        assert event.get_source() == "/openstack/blazar/blazar.lease"
        assert event.get_type() == "org.openstack.blazar." + original["event_type"]
        assert event.get_subject() == payload["lease_id"]
        assert event.get_time() == stamp.replace(tzinfo=UTC)
        assert event.get_datacontenttype() == "application/json"
        assert event.get_data() == {k: v for k, v in payload.items() if k != "trust_id"}
        assert event.get_extension("projectid") == payload["project_id"]
        assert event.get_extension("userid") == payload["user_id"]
        assert event.get_extension("leaseid") == payload["lease_id"]
        assert event.get_extension("leasestatus") == payload.get("status")
        assert event.get_extension("partitionkey") == payload["lease_id"]
        assert record.key == payload["lease_id"].encode()
        raw = record.value + b"".join(name.encode() + value for name, value in record.headers)
        assert not any(secret in raw for secret in SECRETS)
    assert sorted(dict(r.headers)["ce_type"].decode() for r in records) == sorted(
        "org.openstack.blazar." + t for t in sent
    )


def test_malformed_bodies_are_rejected_with_reasons_while_valid_ones_flow(
    route: Route,
    notifier: BlazarNotifier,
    reader: Callable[[str], KafkaReader],
    start_bridge: Callable[..., Bridge],
) -> None:
    corpus = malformed_bodies()
    corpus["not-utf8"] = b'{"oslo.version": "2.0", "oslo.message": "\xff\xfe"}'
    corpus["oversized"] = b'{"padding": "' + b"x" * 200_000 + b'"}'
    expected = {
        "not-json": "not-json",
        "envelope-inner-not-json": "invalid-envelope",
        "missing-event-type": "missing-event-type",
        "payload-not-object": "invalid-payload",
        "missing-lease-id": "missing-lease-id",
        "bad-timestamp": "invalid-timestamp",
        "unknown-oslo-version": "unsupported-envelope",
        "event-type-not-string": "invalid-event-type",
        "not-utf8": "not-utf8",
        "oversized": "too-large",
    }
    assert set(corpus) == set(expected)
    events_topic, rejected_topic = reader(route.topic), reader(route.rejected_topic)
    valid = ["v2-lease.create.json", "legacy-lease.update.json", "v2-lease.event.end_lease.json"]
    bridge = start_bridge(max_body_bytes=100_000)
    with running(bridge):
        for (_name, body), fixture in zip(sorted(corpus.items()), valid * 4, strict=False):
            publish_raw(route.amqp_url, route.exchange, [body])
            notifier.notify(fixture_message(fixture))
        rejected = rejected_topic.read(len(corpus))
        forwarded = events_topic.read(len(corpus))

    reasons = sorted(dict(r.headers)["blazar_events_reason"].decode() for r in rejected)
    assert reasons == sorted(expected.values())
    by_reason = {dict(r.headers)["blazar_events_reason"].decode(): r for r in rejected}
    # The operator gets the body back as it was sent (credentials redacted)...
    assert by_reason["not-json"].value == corpus["not-json"]
    assert by_reason["not-utf8"].value == corpus["not-utf8"]
    bad_stamp = json.loads(json.loads(by_reason["invalid-timestamp"].value)["oslo.message"])
    assert bad_stamp["timestamp"] == "yesterday at noon"
    assert bad_stamp["payload"]["trust_id"] == "[redacted]"
    # ...with why, and the head of an oversized one with its real size.
    assert (
        dict(by_reason["too-large"].headers)["blazar_events_original_size"]
        == str(len(corpus["oversized"])).encode()
    )
    assert by_reason["too-large"].value.startswith(b'{"padding": "xxx')
    for record in rejected:
        headers = dict(record.headers)
        assert headers["blazar_events_error"]
        assert headers["blazar_events_routing_key"] == b"notifications.info"
        assert b"b442a580b9504ababf305bf2b4c49512" not in record.value
    assert len(forwarded) == len(corpus)  # the valid ones kept flowing
    counted = {
        reason: bridge.metrics.registry.get_sample_value(
            "blazar_events_bridge_rejected_total", {"reason": reason}
        )
        for reason in expected.values()
    }
    assert counted == dict.fromkeys(expected.values(), 1.0)


def test_probes_and_metrics_tell_an_operator_what_happens(
    route: Route,
    notifier: BlazarNotifier,
    reader: Callable[[str], KafkaReader],
    start_bridge: Callable[..., Bridge],
) -> None:
    bridge = start_bridge()
    server = HealthServer("127.0.0.1", 0, bridge.metrics, bridge.health)
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        with running(bridge):
            notifier.notify(fixture_message("v2-lease.event.start_lease.json"))
            publish_raw(route.amqp_url, route.exchange, [b"garbage"])
            reader(route.topic).read(1)
            reader(route.rejected_topic).read(1)
            ready = urllib.request.urlopen(base + "/readyz").read()
            alive = urllib.request.urlopen(base + "/healthz").read()
            # Kafka shows the event before the bridge has counted it (the batch also waits
            # for its lease state record): wait for the count, do not time it.
            deadline = time.monotonic() + 30
            while True:
                metrics = urllib.request.urlopen(base + "/metrics").read().decode()
                if "forwarded_total 1.0" in metrics or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
    finally:
        server.stop()
    assert ready == b"ready\n"
    assert alive == b"ok\n"
    assert "blazar_events_bridge_received_total 2.0" in metrics
    assert "blazar_events_bridge_forwarded_total 1.0" in metrics
    assert 'blazar_events_bridge_rejected_total{reason="not-json"} 1.0' in metrics
    assert "blazar_events_bridge_ignored_total 0.0" in metrics
    assert "blazar_events_bridge_retries_total 0.0" in metrics


def test_a_bus_producer_cannot_address_an_event_to_a_subscription(
    route: Route,
    reader: Callable[[str], KafkaReader],
    start_bridge: Callable[..., Bridge],
) -> None:
    # `subscriptionid` sends an event to one subscription past every other's filters
    # (blazar_events.matching.ADDRESS): only this system's own producers may set it. A forger
    # on the bus puts it everywhere a translation could pick it up.
    fixture = fixture_message("v2-lease.event.end_lease.json")
    forged = "0190b2c4-0000-7000-8000-000000000001"
    payload = {**fixture["payload"], "subscriptionid": forged, "subscription_id": forged}
    message = {**fixture, "payload": payload, "subscriptionid": forged,
               "ce_subscriptionid": forged, "extensions": {"subscriptionid": forged}}  # fmt: skip
    message = {k: v for k, v in message.items() if not k.startswith("_context_")}
    envelope = {"oslo.version": "2.0", "oslo.message": json.dumps(message)}
    events_topic = reader(route.topic)
    with running(start_bridge()):
        publish_raw(route.amqp_url, route.exchange, [json.dumps(envelope).encode()])
        (record,) = events_topic.read(1)

    assert all(name != "ce_subscriptionid" for name, _ in record.headers)
    event = ce_kafka.from_binary_event(
        ce_kafka.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    )
    assert event.get_id() == fixture["message_id"]
    assert "subscriptionid" not in event.get_attributes()
