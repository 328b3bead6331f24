"""The bridge's Kafka client on real Kafka: what it refuses, what it retries, what it leaves.

The pipeline's retry logic is tested with scripted sinks (test_pipeline.py); here the real
librdkafka client must give that logic the right answers.
"""

from __future__ import annotations

import glob
import time
import uuid
from collections.abc import Iterator

import pytest

from blazar_events.kafkaproducer import error_name
from blazar_events.records import KafkaRecord
from blazar_events.settings import KafkaSettings
from bridge.producer import KafkaSink, is_refused
from bridge.settings import BridgeSettings
from stack.kafka import delete_topics
from tests.conftest import unique_name

WAIT = 60.0  # a guard against hanging, not a performance assertion


def client_threads() -> int:
    """librdkafka's native threads in this process (named ``rdk:…``)."""
    names = []
    for path in glob.glob("/proc/self/task/*/comm"):
        try:
            with open(path) as comm:
                names.append(comm.read().strip())
        except OSError:  # the thread ended meanwhile
            continue
    return sum(1 for name in names if name.startswith("rdk:"))


def record(size: int = 100) -> KafkaRecord:
    return KafkaRecord(str(uuid.uuid4()).encode(), b"x" * size, (("ce_id", b"1"),))


@pytest.fixture
def topic(kafka_bootstrap: str) -> Iterator[str]:
    name = unique_name("blazar.events.producer")
    yield name
    delete_topics(kafka_bootstrap, [name])


@pytest.fixture
def sink(kafka_bootstrap: str) -> Iterator[KafkaSink]:
    sink = KafkaSink(KafkaSettings.load(bootstrap_servers=[kafka_bootstrap]), BridgeSettings.load())
    yield sink
    sink.close()


def test_a_record_over_the_limit_is_refused_and_the_rest_of_the_batch_written(
    sink: KafkaSink, topic: str
) -> None:
    receipts = [sink.send(topic, record()), sink.send(topic, record(2 * 1024 * 1024))]
    receipts.append(sink.send(topic, record()))
    sink.flush(WAIT)

    assert [r.done() for r in receipts] == [True, True, True]
    first, big, last = (r.error() for r in receipts)
    assert first is None and last is None
    assert big is not None and is_refused(big), big
    assert error_name(big) == "MSG_SIZE_TOO_LARGE"


def test_a_full_client_queue_fails_receipts_for_a_retry_never_refuses_or_raises(
    kafka_bootstrap: str, topic: str
) -> None:
    sink = KafkaSink(KafkaSettings.load(bootstrap_servers=[kafka_bootstrap]), BridgeSettings.load())
    sink._config["queue.buffering.max.messages"] = 10  # a burst larger than its queue
    try:
        receipts = [sink.send(topic, record()) for _ in range(50)]
        sink.flush(WAIT)
        failed = [r.error() for r in receipts if r.error() is not None]
        assert failed, "the queue never filled"
        assert all(r.done() for r in receipts)
        assert not any(is_refused(error) for error in failed)  # resent, never rejected
        assert {error_name(error) for error in failed} == {"_QUEUE_FULL"}
        time.sleep(1.1)  # past the fail-fast second: the resend goes to the client again
        resent = [sink.send(topic, record()) for _ in failed[:10]]
        sink.flush(WAIT)
        assert [r.error() for r in resent] == [None] * len(resent)
    finally:
        sink.close()


def test_a_rebuilt_or_closed_client_leaves_no_thread_behind(sink: KafkaSink, topic: str) -> None:
    before = client_threads()
    for _ in range(3):
        pending = sink.send(topic, record())
        sink.rebuild()  # its pending record is answered (written, or failed when purged)
        assert pending.done()
        written = sink.send(topic, record())
        sink.flush(WAIT)
        assert written.error() is None
    sink.close()

    deadline = time.monotonic() + WAIT
    while client_threads() > before:
        assert time.monotonic() < deadline, f"{client_threads()} librdkafka threads remain"
        time.sleep(0.1)
