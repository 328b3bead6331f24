"""The state topic's reader on real Kafka, fed what anyone able to write the topic could write:
it never raises, and yields exactly each live lease's newest state that is a CloudEvent."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blazar_events import events, records
from blazar_events.settings import KafkaSettings
from blazar_events.statetopic import from_state_topic
from tests.bridge.conftest import fixture_message
from tests.conftest import unique_name

KEYS = st.sampled_from([b"lease-a", b"lease-b", b"lease-c", b"", None])


def state(lease: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    message = fixture_message("v2-lease.event.start_lease.json")
    message["payload"]["lease_id"] = lease.decode() or "empty"
    event = events.to_cloudevent(message)
    assert event is not None
    record = records.to_record(event)
    return record.value, list(record.headers)


JUNK_HEADERS = st.lists(
    st.tuples(st.sampled_from(["ce_type", "ce_id", "ce_specversion", "x"]), st.binary(max_size=8)),
    max_size=3,
)
WRITES = st.lists(
    st.tuples(KEYS, st.sampled_from(["state", "tombstone", "junk"]), st.binary(max_size=64)),
    min_size=1,
    max_size=12,
)


@given(writes=WRITES, junk_headers=JUNK_HEADERS)
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_hostile_records_never_stop_a_read_and_only_live_states_come_out(
    kafka_bootstrap: str,
    writes: list[tuple[bytes | None, str, bytes]],
    junk_headers: list[tuple[str, bytes]],
) -> None:
    kafka = KafkaSettings.load(bootstrap_servers=[kafka_bootstrap], state_topic=unique_name("st"))
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    refused: list[KafkaError] = []

    def confirmed(error: KafkaError | None, _: Message) -> None:
        if error is not None:
            refused.append(error)

    newest: dict[bytes, str] = {}
    for key, kind, junk in writes:
        value: Any
        headers: list[tuple[str, bytes]]
        if kind == "state":
            value, headers = state(key or b"")
        elif kind == "tombstone":
            if key is None:
                continue  # no client can send a record with neither key nor value
            value, headers = None, []
        else:
            value, headers = junk, junk_headers
        producer.produce(kafka.state_topic, value, key, headers=headers, on_delivery=confirmed)
        assert producer.flush(30) == 0 and not refused, refused  # one at a time, in order
        if key is not None:
            newest[key] = kind

    found = [event.get_subject() for event in from_state_topic(kafka)]

    live = {key.decode() or "empty" for key, kind in newest.items() if kind == "state"}
    assert sorted(found) == sorted(live)  # at most one each; never a deleted or junk one
