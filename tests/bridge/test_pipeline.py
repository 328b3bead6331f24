"""The pipeline's retry and refusal logic, with a scripted stand-in for the Kafka client.

The real client is exercised by test_bridge.py and test_faults.py; here the sink fails on
purpose in ways a live broker cannot be made to fail on demand.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError

from blazar_events.kafkaproducer import kafka_failure
from blazar_events.records import KafkaRecord
from blazar_events.settings import EventSettings, KafkaSettings
from bridge.metrics import Health, Metrics
from bridge.pipeline import Pipeline
from bridge.settings import BridgeSettings
from bridge.translation import AmqpMessage

FIXTURES = Path(__file__).parent.parent / "fixtures" / "blazar"


class Receipt:
    def __init__(self, error: BaseException | None) -> None:
        self._error = error

    def done(self) -> bool:
        return True

    def error(self) -> BaseException | None:
        return self._error


class ScriptedSink:
    """Fails the first ``failures`` sends with ``error``, then accepts everything."""

    def __init__(self, error: BaseException | None = None, failures: int = 0) -> None:
        self.error = error
        self.failures = failures
        self.accepted: list[tuple[str, KafkaRecord]] = []
        self.attempts = 0

    def send(self, topic: str, record: KafkaRecord) -> Receipt:
        self.attempts += 1
        if self.error is not None and self.failures > 0:
            self.failures -= 1
            return Receipt(self.error)
        self.accepted.append((topic, record))
        return Receipt(None)

    def flush(self, timeout: float) -> None:
        pass

    def connected(self) -> bool:
        return True

    def rebuild(self) -> None:
        pass

    def close(self) -> None:
        pass


def pipeline(sink: ScriptedSink, **overrides: Any) -> tuple[Pipeline, Metrics]:
    metrics = Metrics()
    settings = BridgeSettings.load(retry_backoff=0.01, retry_backoff_max=0.02, **overrides)
    kafka = KafkaSettings.load(topic="events", rejected_topic="rejected", state_topic="leases")
    return Pipeline(settings, kafka, EventSettings.load(), sink, metrics, Health()), metrics


def deliveries() -> list[AmqpMessage]:
    body = (FIXTURES / "v2-lease.create.json").read_bytes()
    return [AmqpMessage(tag=1, body=body), AmqpMessage(tag=2, body=b"junk")]


def never(_: float) -> None:
    pass


def test_a_failing_kafka_is_retried_until_it_takes_every_record() -> None:
    sink = ScriptedSink(kafka_failure(KafkaError._MSG_TIMED_OUT, "broker away"), failures=5)
    under_test, metrics = pipeline(sink)
    outgoing = under_test.to_outgoing(deliveries())

    assert under_test.deliver(outgoing, wait=never, stopping=lambda: False)

    assert sorted(topic for topic, _ in sink.accepted) == ["events", "leases", "rejected"]
    assert metrics.retries._value.get() == 5
    assert metrics.forwarded._value.get() == 1
    assert under_test.health.kafka_ok


def test_a_record_kafka_can_never_take_goes_to_the_rejected_topic() -> None:
    sink = ScriptedSink(kafka_failure(KafkaError.MSG_SIZE_TOO_LARGE, "too big"), failures=1)
    under_test, metrics = pipeline(sink)
    outgoing = under_test.to_outgoing(deliveries()[:1])

    assert under_test.deliver(outgoing, wait=never, stopping=lambda: False)

    [(topic, record)] = [(t, r) for t, r in sink.accepted if t != "leases"]
    assert topic == "rejected"
    assert record.header("blazar_events_reason") == b"kafka-refused"
    assert metrics.forwarded._value.get() == 0
    assert metrics.retries._value.get() == 0


class Pending:
    """The receipt of a record the client took and will never answer for."""

    def done(self) -> bool:
        return False

    def error(self) -> BaseException | None:
        return None


class WedgedSink(ScriptedSink):
    """Its client takes records and never answers (kafka-python after a broker restart
    left it without a producer id); only a rebuilt client writes them."""

    def __init__(self) -> None:
        super().__init__()
        self.rebuilds = 0

    def send(self, topic: str, record: KafkaRecord) -> Any:
        if self.rebuilds == 0:
            self.attempts += 1
            return Pending()
        return super().send(topic, record)

    def rebuild(self) -> None:
        self.rebuilds += 1


def test_a_client_that_never_answers_is_rebuilt_and_every_record_resent() -> None:
    sink = WedgedSink()
    under_test, metrics = pipeline(sink, kafka_delivery_timeout=0.1)
    outgoing = under_test.to_outgoing(deliveries())
    served: list[float] = []

    assert under_test.deliver(outgoing, wait=served.append, stopping=lambda: False)

    assert sorted(topic for topic, _ in sink.accepted) == ["events", "leases", "rejected"]
    assert sink.rebuilds == 1
    assert metrics.producer_rebuilds._value.get() == 1
    assert metrics.retries._value.get() == 3
    # While it waited, the loop kept reading the AMQP socket (RabbitMQ's heartbeats).
    assert served and all(seconds > 0 for seconds in served)


def test_stopping_while_kafka_fails_acknowledges_nothing() -> None:
    sink = ScriptedSink(kafka_failure(KafkaError._MSG_TIMED_OUT, "broker away"), failures=10**6)
    under_test, _ = pipeline(sink)
    outgoing = under_test.to_outgoing(deliveries())
    calls = iter(range(10**6))

    stopped = under_test.deliver(outgoing, wait=never, stopping=lambda: next(calls) > 3)

    assert stopped is False
    assert sink.accepted == []
    assert not under_test.health.kafka_ok


def test_the_defaults_follow_blazar_and_oslo() -> None:
    settings = BridgeSettings.load()
    assert settings.exchange == "openstack"
    assert settings.topics == ["notifications"]
    assert settings.priorities == ["info"]
    assert settings.exchange_durable is False  # oslo's amqp_durable_queues default
    assert settings.queue_durable is True
    assert settings.port == 9101


def test_an_operator_configures_the_bridge_in_ini_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ini = tmp_path / "blazar-events.conf"
    ini.write_text(
        "[bridge]\n"
        "transport_url = rabbit://blazar:secret@rabbit-1:5672,blazar:secret@rabbit-2:5672/\n"
        "exchange_durable = true\n"
        "pool = blazar-events-region-two\n"
        "publisher_prefixes = blazar., reservation.\n"
        "[kafka]\n"
        "topic = region-two.blazar.events\n"
    )
    monkeypatch.setenv("BLAZAR_EVENTS_CONFIG_FILE", str(ini))
    monkeypatch.setenv("BLAZAR_EVENTS_BRIDGE_POOL", "from-env")

    settings = BridgeSettings.load()

    assert settings.exchange_durable is True
    assert settings.pool == "from-env"
    assert settings.publisher_prefixes == ["blazar.", "reservation."]
    assert "secret" not in repr(settings)  # the password stays out of logs and reprs
    assert KafkaSettings.load().topic == "region-two.blazar.events"


class RefusingSink(ScriptedSink):
    """Refuses every record on the rejected topic ``refusals`` times (as a rejected topic
    with a tiny max.message.bytes, or compacted, would), the events topic never."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    def send(self, topic: str, record: KafkaRecord) -> Receipt:
        self.attempts += 1
        if topic == "rejected" and self.refusals > 0:
            self.refusals -= 1
            return Receipt(kafka_failure(KafkaError.MSG_SIZE_TOO_LARGE, "refused"))
        self.accepted.append((topic, record))
        return Receipt(None)


def test_a_message_whose_headers_only_record_kafka_refuses_is_retried_never_dropped() -> None:
    sink = RefusingSink(refusals=4)  # the rejection, then its headers only, 3 times
    under_test, metrics = pipeline(sink)
    outgoing = under_test.to_outgoing([AmqpMessage(tag=7, body=b"junk")])

    assert under_test.deliver(outgoing, wait=never, stopping=lambda: False)

    [(topic, record)] = sink.accepted  # acknowledged only once Kafka has a record of it
    assert topic == "rejected"
    assert record.value == b""
    assert record.header("blazar_events_reason") == b"not-json"
    assert record.header("blazar_events_original_size") == b"4"
    assert (
        record.header("blazar_events_body_sha256") == hashlib.sha256(b"junk").hexdigest().encode()
    )
    assert metrics.retries._value.get() == 3
    assert (
        metrics.registry.get_sample_value(
            "blazar_events_bridge_poison_total", {"kind": "headers-only"}
        )
        == 1.0
    )


def test_while_kafka_refuses_even_the_headers_nothing_may_be_acknowledged() -> None:
    sink = RefusingSink(refusals=10**6)
    under_test, _ = pipeline(sink)
    outgoing = under_test.to_outgoing([AmqpMessage(tag=7, body=b"junk")])
    calls = iter(range(10**6))

    assert under_test.deliver(outgoing, wait=never, stopping=lambda: next(calls) > 20) is False
    assert sink.accepted == []
    assert not under_test.health.kafka_ok


def test_a_client_that_raises_on_a_record_gets_its_rejection_instead() -> None:
    class Choking(ScriptedSink):
        def send(self, topic: str, record: KafkaRecord) -> Receipt:
            if topic == "events":
                raise TypeError("a bug in the client")
            return super().send(topic, record)

    sink = Choking()
    under_test, _ = pipeline(sink)
    body = (FIXTURES / "v2-lease.create.json").read_bytes()

    assert under_test.deliver(
        under_test.to_outgoing([AmqpMessage(tag=1, body=body)]), wait=never, stopping=lambda: False
    )

    [(topic, record)] = [(t, r) for t, r in sink.accepted if t != "leases"]
    assert topic == "rejected"
    assert record.header("blazar_events_reason") == b"kafka-refused"


class StateRefusingSink(ScriptedSink):
    """Refuses ``refusals`` records on the state topic (a tiny max.message.bytes)."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    def send(self, topic: str, record: KafkaRecord) -> Receipt:
        self.attempts += 1
        if topic == "leases" and self.refusals > 0:
            self.refusals -= 1
            return Receipt(kafka_failure(KafkaError.MSG_SIZE_TOO_LARGE, "refused"))
        self.accepted.append((topic, record))
        return Receipt(None)


def test_a_state_kafka_refuses_tombstones_the_lease_rather_than_leave_a_stale_one() -> None:
    sink = StateRefusingSink(refusals=1)
    under_test, metrics = pipeline(sink)
    outgoing = under_test.to_outgoing(deliveries()[:1])

    assert under_test.deliver(outgoing, wait=never, stopping=lambda: False)

    states = [record for topic, record in sink.accepted if topic == "leases"]
    assert [record.tombstone for record in states] == [True]
    assert [topic for topic, _ in sink.accepted if topic != "leases"] == ["events"]
    assert metrics.forwarded._value.get() == 1


def test_a_refused_tombstone_is_retried_and_nothing_acknowledged_meanwhile() -> None:
    sink = StateRefusingSink(refusals=10**6)
    under_test, _ = pipeline(sink)
    outgoing = under_test.to_outgoing(deliveries()[:1])
    calls = iter(range(10**6))

    assert under_test.deliver(outgoing, wait=never, stopping=lambda: next(calls) > 20) is False
    assert not any(topic == "leases" for topic, _ in sink.accepted)
    assert not under_test.health.kafka_ok
