"""The state topic's reader on real Kafka, fed what anyone able to write the topic could write:
it never raises, and yields exactly each live lease's newest state that is a CloudEvent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blazar_events import events, records
from blazar_events.kafkaproducer import new_producer, produce_all
from blazar_events.records import KafkaRecord
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
    producer = new_producer({**kafka.librdkafka_config(), "acks": "all"})
    newest: dict[bytes, str] = {}
    written: list[KafkaRecord] = []
    for key, kind, junk in writes:
        if kind == "state":
            value, headers = state(key or b"")
            written.append(KafkaRecord(key, value, tuple(headers)))
        elif kind == "tombstone":
            if key is None:
                continue  # no client can send a record with neither key nor value
            written.append(KafkaRecord(key, b"", (), tombstone=True))
        else:
            written.append(KafkaRecord(key, junk, tuple(junk_headers)))
        if key is not None:
            newest[key] = kind
    produce_all(producer, kafka.state_topic, written, 30)

    found = [event.get_subject() for event in from_state_topic(kafka)]

    live = {key.decode() or "empty" for key, kind in newest.items() if kind == "state"}
    assert sorted(found) == sorted(live)  # at most one each; never a deleted or junk one
